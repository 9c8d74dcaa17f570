// prior.safetensors: a bit-exact round trip, and edited or hostile files refused in one line naming the file.
import Foundation
import Testing
import TestSupport
@testable import VAE

@Suite struct SavedPriorTests {
    static func prior(_ mixture: GaussianMixture) -> SavedPrior {
        var fit = PriorFit(mixture: mixture.roundedToFloat, covariance: .full, trainCodes: 900, heldOutCodes: 47,
                           heldOutFitted: -12.345678901234, heldOutStandard: -30.5, candidates: [])
        fit.mixture = mixture.roundedToFloat
        return SavedPrior(fit: fit, stamp: ModelStamp(epoch: 3, step: 120), runID: "run-abc")
    }

    @Test func aPriorComesBackBitForBit() throws {
        let path = temporaryFolder("vae-prior") + "/prior.safetensors"
        let saved = Self.prior(randomMixture(components: 3, dimension: 5, seed: 2))
        try saved.write(to: path)
        let loaded = try SavedPrior.read(path, latent: 5)
        #expect(loaded == saved)
        let first = try Data(contentsOf: URL(fileURLWithPath: path))
        try loaded.write(to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == first)
        #expect(loaded.fits(ModelStamp(epoch: 3, step: 120), runID: "run-abc"))
        #expect(!loaded.fits(ModelStamp(epoch: 4, step: 160), runID: "run-abc"), "training went on")
        #expect(!loaded.fits(ModelStamp(epoch: 3, step: 120), runID: "run-other"), "another run")
    }

    /// Each edit is refused with one line that names the file and the cause.
    @Test func editedAndHostileFilesAreRefused() throws {
        let folder = temporaryFolder("vae-badprior"), path = folder + "/prior.safetensors"
        let good = randomMixture(components: 2, dimension: 3, seed: 4).roundedToFloat
        func refused(_ cause: String, latent: Int = 3, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try SavedPrior.read(path, latent: latent)
                Issue.record("accepted: \(cause)", sourceLocation: sourceLocation)
            } catch {
                let text = "\(error)"
                #expect(text.hasPrefix(path) && !text.contains("\n") && text.contains(cause), "\(text)", sourceLocation: sourceLocation)
            }
        }
        func write(_ edit: (inout GaussianMixture) -> Void) throws {
            var m = good
            edit(&m)
            try Self.prior(m).write(to: path)
        }
        try write { _ in }
        refused("do not fit a mixture over this model's 4 latent dimensions", latent: 4)
        try write { $0.means[1] = .nan }
        refused("NaN or infinite")
        try write { $0.weights = [-0.5, 1.5] }
        refused("weight is negative")
        try write { $0.weights = [0.5, 0.6] }
        refused("sum to")
        try write { $0.factors[4] = 0 }
        refused("not positive")
        try write { $0.factors[1] = 0.3 }
        refused("not lower triangular")
        try write { _ in }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 8).write(to: URL(fileURLWithPath: path))
        refused("truncated")
        try Data(repeating: 0x41, count: 3 * 1024 * 1024).write(to: URL(fileURLWithPath: path))
        refused("MiB")
        try Safetensors(tensors: [.init(name: "weights", shape: [1], values: [1])], metadata: ["format": "pt"]).write(to: path)
        refused("does not say it is a SwiftVAE prior")
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        refused("cannot read the prior")
    }
}
