// Bounds under a fitted prior (vae evaluate --prior fitted): N(0, I) as a mixture of one gives N(0, I)'s bounds; a misplaced mixture costs.
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

@Suite struct FittedPriorBoundsTests {
    static let config = ModelConfig.plain(size: 8, channels: 1, widths: [4], hidden: 6, latent: 4)

    static func model() -> Model {
        let network = Network(config: config)
        let params = Buffer(count: network.parameterCount)
        network.initialize(params, seed: 3)
        return Model(network: network, params: params, threads: 2, chunk: 4)
    }

    /// The fitted-prior path (GaussianMixture's log-density, in Double) against the N(0, I) path
    /// (written inline, in Float): with N(0, I) as the mixture they bound the same model, from the
    /// same samples.
    @Test func theStandardMixtureGivesTheStandardBounds() throws {
        let model = Self.model(), dataset = HorizontalFlipsTests.dataset(count: 10, size: 8, channels: 1)
        let r = model.evaluate(dataset, k: 20, prior: .standard(dimension: 4))
        let f = try #require(r.fitted)
        let iwae = try #require(r.iwae)
        #expect(abs(f.iwae - iwae) < 1e-3, "\(f.iwae) against \(iwae)")
        #expect(f.components == 1)
        // The Monte Carlo KL over 200 draws against the closed form: close, not equal.
        #expect(abs(f.kl - r.kl) < 0.5, "\(f.kl) against \(r.kl)")
        // log of a mean ≥ mean of logs, image by image: the IWAE bound is the tighter.
        #expect(f.iwae <= f.negativeELBO)
        // Without importance samples there are no fitted bounds.
        #expect(model.evaluate(dataset, k: 0, prior: .standard(dimension: 4)).fitted == nil)
    }

    /// A mixture far from where q(z|x) puts its draws is a worse prior: both bounds rise.
    @Test func aMisplacedMixtureCosts() throws {
        let model = Self.model(), dataset = HorizontalFlipsTests.dataset(count: 10, size: 8, channels: 1)
        var shifted = GaussianMixture.standard(dimension: 4)
        shifted.means = shifted.means.map { $0 + 3 }
        let r = model.evaluate(dataset, k: 20, prior: shifted)
        let f = try #require(r.fitted)
        // Shifting N(0, I) by 3 in each of 4 dimensions costs ½·4·9 = 18 nats of KL for a q(z|x) near 0.
        #expect(f.iwae > r.iwae! + 10 && f.kl > r.kl + 10, "\(f) against \(r.iwae!), KL \(r.kl)")
    }
}
