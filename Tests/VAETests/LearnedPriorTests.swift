// A prior learned with the model: the trainer's gradient against finite differences of the objective written out here, and its bounds against N(0, I)'s.
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

@Suite struct LearnedPriorTests {
    static let config: ModelConfig = {
        var c = ModelConfig.plain(size: 8, channels: 1, widths: [4], hidden: 6, latent: 3)
        c.priorMixture = 4
        return c
    }()
    static let batch = 6, seed: UInt64 = 9, beta = 0.7

    /// The objective, apart from the code under test: mean over the batch of the reconstruction NLL
    /// + β (log q(z|x) − log p(z)) at step 0's noise, log p the mixture summed directly in Double.
    static func objective(_ network: Network, params: Buffer, images: Buffer, in ws: Workspace) -> Double {
        let p = UnsafePointer(params.pointer), L = config.latent, K = config.priorMixture!
        network.encode(images.pointer, batch: batch, params: p, in: ws)
        RandomStream(seed: seed, purpose: .noise, detail: 0).fillNormal(ws.eps.pointer, count: batch * L)
        network.sampleLatent(batch: batch, in: ws)
        network.decode(batch: batch, params: p, in: ws)
        network.evaluateLoss(images.pointer, batch: batch, params: p, in: ws)
        let priorParameters = (0..<(K * (2 * L + 1))).map { Double(p[network.priorOffset + $0]) }
        var total = 0.0
        for b in 0..<batch {
            var logQ = 0.0, z: [Double] = []
            for j in 0..<L {
                let m = Double(ws.mean[b * L + j]), lv = Double(ws.logVariance[b * L + j]), e = Double(ws.eps[b * L + j])
                let zj = m + exp(lv / 2) * e
                z.append(zj)
                logQ += -0.5 * ((zj - m) * (zj - m) / exp(lv) + lv + log(2 * Double.pi))
            }
            let logP = directMixtureLogDensity(z, priorParameters, components: K, dimension: L)
            total += ws.reconstruction[b] + beta * (logQ - logP)
        }
        return total / Double(batch)
    }

    static func model(_ config: ModelConfig) -> Model {
        let network = Network(config: config)
        let params = Buffer(count: network.parameterCount)
        network.initialize(params, seed: 3)
        return Model(network: network, params: params, threads: 2, chunk: 4)
    }

    @Test func gradientMatchesFiniteDifferences() {
        let network = Network(config: Self.config)
        #expect(network.layout["prior.means"]?.shape == [4, 3] && network.layout["prior.logits"]?.shape == [4])
        var rng = TestRandom(51)
        let images = Buffer(rng.floats(Self.batch * 64, 0, 1))
        let trainer = Trainer(network: network, batch: Self.batch, seed: Self.seed, beta: Float(Self.beta), shards: 2, threads: 2)
        let ws = Workspace(network: network, capacity: Self.batch)
        // Components that differ in scale and weight, so every parameter's gradient is exercised.
        var pick = TestRandom(52)
        for name in ["prior.log_scales", "prior.logits"] {
            let t = network.layout[name]!
            for i in t.offset..<(t.offset + t.count) { trainer.params[i] = pick.float(-0.5, 0.5) }
        }
        let start = trainer.params.array
        let result = trainer.step(images.pointer, count: Self.batch, noiseIndex: 0)
        trainer.params.copy(from: Buffer(start))
        let analytic = trainer.gradient
        let centre = Self.objective(network, params: trainer.params, images: images, in: ws)
        #expect(isClose(result.loss, centre, relative: 1e-5), "loss \(result.loss) vs objective \(centre)")
        expectGradientMatchesFiniteDifferences(analytic, network: network, params: trainer.params, centre: centre, seed: 53) {
            Self.objective(network, params: trainer.params, images: images, in: ws)
        }
    }

    /// A learned prior of one component at mean 0 and scale 1 is N(0, I): the importance-weighted
    /// bound from the same samples is the N(0, I) model's, and the −ELBO agrees in expectation
    /// (its KL is a one-sample estimate here, exact there).
    @Test func oneStandardComponentBoundsAsNZeroI() throws {
        var learned = ModelConfig.plain(size: 8, channels: 1, widths: [4], hidden: 6, latent: 3)
        let standard = Self.model(learned)
        learned.priorMixture = 1
        let model = Self.model(learned)
        let count = standard.network.parameterCount
        model.params.pointer.update(from: standard.params.pointer, count: count)
        (model.params.pointer + count).update(repeating: 0, count: model.network.parameterCount - count)
        #expect(model.network.priorOffset == count)
        let dataset = HorizontalFlipsTests.dataset(count: 10, size: 8, channels: 1)
        let a = standard.evaluate(dataset, k: 20), b = model.evaluate(dataset, k: 20)
        #expect(isClose(a.iwae!, b.iwae!, relative: 1e-5), "\(a.iwae!) vs \(b.iwae!)")
        #expect(isClose(a.reconstruction, b.reconstruction, relative: 1e-6))
        #expect(abs(a.kl - b.kl) < 0.5, "KL \(a.kl) vs one-sample estimate \(b.kl)")
        let prior = try #require(model.learnedPrior)
        #expect(prior == GaussianMixture.standard(dimension: 3))
        #expect(standard.learnedPrior == nil)
    }

    /// With the prior's parameters changed, sampling draws from it: the samples differ from N(0, I)'s.
    @Test func samplesComeFromTheLearnedPrior() {
        var config = ModelConfig.plain(size: 8, channels: 1, widths: [4], hidden: 6, latent: 3)
        config.priorMixture = 2
        let model = Self.model(config)
        let means = model.network.layout["prior.means"]!
        for i in 0..<means.count { model.params[means.offset + i] = 3 }
        let prior = model.learnedPrior!
        #expect(prior.means.allSatisfy { $0 == 3 } && prior.weights == [0.5, 0.5])
        let drawn = model.samples(count: 4, seed: 1), plain = model.samples(count: 4, seed: 1, prior: .standard(dimension: 3))
        #expect(drawn.map(\.planar) != plain.map(\.planar))
    }
}
