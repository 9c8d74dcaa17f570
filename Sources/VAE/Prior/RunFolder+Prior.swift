// RunFolder+Prior: the end of a run (the prior fitted and saved, both sample grids, the report) and finding a run's prior.
import Foundation
import ImageIO
import VAECore

extension RunFolder {
    public static let standardSamplesFile = "samples-standard.png"

    /// Fits a prior to `model`'s posterior means of the run's training images, choosing its size
    /// on the validation images; saves prior.safetensors; writes samples.png from it and
    /// samples-standard.png from N(0, I), and the latent views (writeLatentViews); rewrites
    /// report.html to show them all. The end of
    /// `vae train` and `vae fit-prior` both come here.
    /// `progress` is told of each mixture tried.
    public func fitPrior(model: Model, batches: ImageBatches, config: RunConfig, stamp: ModelStamp, components: Int? = nil,
                         threads: Int, progress: ((PriorFit.Candidate) -> Void)? = nil) throws -> SavedPrior {
        // The work is split over components; BLAS inside each stays on one thread.
        let blasThreads = BLAS.threads
        BLAS.setThreads(1)
        defer { BLAS.setThreads(blasThreads) }
        let seed = config.training.seed, D = config.model.latent
        guard D <= PriorFit.maxDimension else {
            throw RunError.invalid("\(path): no prior is fitted for a latent of \(D) dimensions (at most \(PriorFit.maxDimension))")
        }
        let train = PriorFit.subset(batches.trainIndices, dimension: D, seed: seed, detail: 1)
        let heldOut = PriorFit.subset(batches.validationIndices, dimension: D, seed: seed, detail: 2)
        let trainCodes = model.codes(batches.dataset, train), heldOutCodes = model.codes(batches.dataset, heldOut)
        guard (trainCodes + heldOutCodes).allSatisfy(\.isFinite) else {
            throw RunError.invalid("\(path): the encoder gives NaN or infinite codes for some images; no prior was fitted")
        }
        let fit = PriorFit.choose(train: trainCodes, heldOut: heldOutCodes, dimension: D, seed: seed, components: components,
                                  own: model.learnedPrior, threads: threads, progress: progress)
        if let problem = fit.mixture.problem { throw RunError.invalid("\(path): the fitted prior is unsound (\(problem)); not saved") }
        let prior = SavedPrior(fit: fit, stamp: stamp, runID: config.runID)
        try prior.write(to: file(SavedPrior.file))
        let scale = viewingScale(for: config.model.size)
        let grid = { (mixture: GaussianMixture?) in
            Image.grid(model.samples(count: 64, seed: seed, prior: mixture).map { $0.upscaled(by: scale) }, columns: 8)
        }
        try grid(prior.mixture).writePNG(to: file(Self.pictureFiles[1]))
        try grid(nil).writePNG(to: file(Self.standardSamplesFile))
        let kl = try writeLatentViews(model: model, batches: batches)
        try writeReport(config: config, parameterCount: model.network.parameterCount, images: batches.dataset.count,
                        validationImages: batches.validationIndices.count, skippedFiles: batches.dataset.skipped.count, prior: prior,
                        latentKL: kl.isEmpty ? nil : kl)
        return prior
    }

    /// What a run folder's prior.safetensors is to `model`.
    public enum PriorLookup {
        case none
        /// Fitted to another state of the model (training went on) or to another run; why, in words.
        case stale(String)
        case fitted(SavedPrior)
    }

    /// Reads the prior in the run folder `folder` for `model`; a file that is there but unsound is
    /// refused (thrown, one line naming it).
    public static func prior(in folder: String, for model: Model) throws -> PriorLookup {
        let path = folder + "/" + SavedPrior.file
        guard FileManager.default.fileExists(atPath: path) else { return .none }
        let prior = try SavedPrior.read(path, latent: model.config.latent)
        guard prior.fits(model.stamp, runID: model.run?.runID) else {
            let now = model.stamp.map { "epoch \($0.epoch), step \($0.step)" } ?? "a checkpoint that does not say its step"
            if let id = model.run?.runID, let other = prior.runID, id != other {
                return .stale("\(path) was fitted in another run (run id \(other))")
            }
            return .stale("\(path) was fitted to the model at epoch \(prior.stamp.epoch), step \(prior.stamp.step), "
                          + "but model.safetensors is from \(now)")
        }
        return .fitted(prior)
    }
}

extension PriorFit.Candidate {
    /// "4 components, full covariance: held-out −12.34 nats/image (37 EM iterations)".
    public var summary: String {
        "\(components) component\(components == 1 ? "" : "s"), \(covariance.rawValue) covariance: "
            + (heldOut.map { String(format: "held-out %.2f nats/image", $0) } ?? "fitted")
            + " (\(iterations) EM iteration\(iterations == 1 ? "" : "s"))"
    }
}

extension SavedPrior {
    /// One line: what was fitted and how it and the model's own prior (`own`) score on held-out codes.
    public func summary(own: String = ModelConfig.standardPriorName) -> String {
        let kind = "\(mixture.components) component\(mixture.components == 1 ? "" : "s"), \(covariance.rawValue) covariance"
        guard let fitted = heldOutFitted, let standard = heldOutStandard else {
            return "prior: \(kind), fitted to \(trainCodes) training codes (no held-out images to score it on)"
        }
        return String(format: "prior: %@; held-out log-likelihood of the codes %.2f nats/image (%@: %.2f), %d images",
                      kind, fitted, own, standard, heldOutCodes)
    }
}
