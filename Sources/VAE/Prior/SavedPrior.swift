// SavedPrior: a run folder's prior.safetensors: the fitted mixture, the model state it was fitted to, and its held-out figures.
import Foundation

/// The epoch and step of the checkpoint a model's weights come from.
public struct ModelStamp: Equatable, Sendable {
    public var epoch: Int
    public var step: Int
    public init(epoch: Int, step: Int) { (self.epoch, self.step) = (epoch, step) }
}

public struct SavedPrior: Equatable, Sendable {
    public static let file = "prior.safetensors"

    public var mixture: GaussianMixture
    /// The model state the codes came from, and the run: a prior of another state is not that model's.
    public var stamp: ModelStamp
    public var runID: String?
    public var covariance: GaussianMixture.Covariance
    public var trainCodes: Int
    public var heldOutCodes: Int
    public var heldOutFitted: Double?
    public var heldOutStandard: Double?

    public init(fit: PriorFit, stamp: ModelStamp, runID: String?) {
        (mixture, covariance, trainCodes, heldOutCodes) = (fit.mixture, fit.covariance, fit.trainCodes, fit.heldOutCodes)
        (heldOutFitted, heldOutStandard) = (fit.heldOutFitted, fit.heldOutStandard)
        (self.stamp, self.runID) = (stamp, runID)
    }

    /// Whether this prior was fitted to the weights of `stamp` in the run `runID`.
    public func fits(_ stamp: ModelStamp?, runID: String?) -> Bool {
        stamp == self.stamp && (runID == nil || self.runID == nil || runID == self.runID)
    }

    /// Written through a temporary file and a rename. Figures are kept with every digit.
    public func write(to path: String) throws {
        let (K, D) = (mixture.components, mixture.dimension)
        var meta = ["format": "swiftvae-prior", "version": "1", "epoch": "\(stamp.epoch)", "step": "\(stamp.step)",
                    "covariance": covariance.rawValue, "train_codes": "\(trainCodes)", "heldout_codes": "\(heldOutCodes)"]
        if let runID { meta["run_id"] = runID }
        if let heldOutFitted { meta["heldout_nats_fitted"] = "\(heldOutFitted)" }
        if let heldOutStandard { meta["heldout_nats_standard"] = "\(heldOutStandard)" }
        let f = { (v: [Double]) in v.map(Float.init) }
        try Safetensors(tensors: [.init(name: "weights", shape: [K], values: f(mixture.weights)),
                                  .init(name: "means", shape: [K, D], values: f(mixture.means)),
                                  .init(name: "cholesky", shape: [K, D, D], values: f(mixture.factors))],
                        metadata: meta).write(to: path)
    }

    /// Reads and checks a prior for a model of `latent` dimensions; every refusal is one line naming the file.
    public static func read(_ path: String, latent D: Int) throws -> SavedPrior {
        // The largest sound file: maxComponents full D×D factors, plus a header of a few hundred bytes.
        let limit = 4 * PriorFit.maxComponents * (1 + D + D * D) + (1 << 16)
        let file: Safetensors
        let bad = { (reason: String) in RunError.corrupt(path: path, reason: "not a valid prior (\(reason))") }
        do { file = try Safetensors.read(path, limit: limit) } catch let error as SafetensorsError {
            // Its reasons, under this file's noun rather than "checkpoint".
            switch error {
            case let .unreadable(_, reason): throw RunError.corrupt(path: path, reason: "cannot read the prior (\(reason))")
            case let .corrupt(_, reason): throw bad(reason)
            }
        }
        guard file.metadata["format"] == "swiftvae-prior" else { throw bad("it does not say it is a SwiftVAE prior") }
        guard let w = file["weights"], let m = file["means"], let l = file["cholesky"] else {
            throw bad("weights, means or cholesky is missing")
        }
        let K = w.shape.first ?? 0
        guard w.shape == [K], (1...PriorFit.maxComponents).contains(K), m.shape == [K, D], l.shape == [K, D, D] else {
            throw bad("shapes \(w.shape), \(m.shape), \(l.shape) do not fit a mixture over this model's \(D) latent dimensions")
        }
        let d = { (v: [Float]) in v.map(Double.init) }
        let mixture = GaussianMixture(dimension: D, weights: d(w.values), means: d(m.values), factors: d(l.values))
        if let problem = mixture.problem { throw bad(problem) }
        let int = { (key: String) throws -> Int in
            guard let v = file.metadata[key].flatMap(Int.init), v >= 0 else { throw bad("metadata '\(key)' is missing or not a count") }
            return v
        }
        let figure = { (key: String) throws -> Double? in
            guard let text = file.metadata[key] else { return nil }
            guard let v = Double(text), v.isFinite else { throw bad("metadata '\(key)' is not a finite number") }
            return v
        }
        guard let covariance = file.metadata["covariance"].flatMap(GaussianMixture.Covariance.init) else {
            throw bad("metadata 'covariance' is missing or unknown")
        }
        var prior = SavedPrior(mixture: mixture, stamp: ModelStamp(epoch: try int("epoch"), step: try int("step")),
                               runID: file.metadata["run_id"], covariance: covariance)
        (prior.trainCodes, prior.heldOutCodes) = (try int("train_codes"), try int("heldout_codes"))
        (prior.heldOutFitted, prior.heldOutStandard) = (try figure("heldout_nats_fitted"), try figure("heldout_nats_standard"))
        return prior
    }

    init(mixture: GaussianMixture, stamp: ModelStamp, runID: String?, covariance: GaussianMixture.Covariance) {
        (self.mixture, self.stamp, self.runID, self.covariance) = (mixture, stamp, runID, covariance)
        (trainCodes, heldOutCodes) = (0, 0)
    }
}
