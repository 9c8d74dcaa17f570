// Checkpoint: a run folder's model.safetensors and training_state.safetensors, one consistent pair.
import Foundation
import VAECore

/// A checkpoint is two files. training_state.safetensors holds everything a resume needs
/// (Adam's moments, the weights Adam updates, their moving average, the position and sums) and
/// is written first; model.safetensors (the weights to use, under PyTorch's names) follows. Both
/// carry the checkpoint's epoch and step. A save cut short between the two leaves a newer state
/// beside an older model: resuming rewrites the model from the state. A state written before
/// the state held the average cannot do that, and a mismatched pair of that kind is refused.
public enum Checkpoint {
    public static let modelFile = "model.safetensors"
    public static let configFile = "config.json"
    public static let stateFile = "training_state.safetensors"

    /// The weights under their PyTorch names and shapes.
    public static func weights(_ network: Network, _ params: Buffer, metadata: [String: String] = [:]) -> Safetensors {
        Safetensors(tensors: network.layout.tensors.map { t in
            Safetensors.Entry(name: t.name, shape: t.shape,
                              values: Array(UnsafeBufferPointer(start: params.pointer + t.offset, count: t.count)))
        }, metadata: metadata)
    }

    /// Writes the training state, then the weights (each through a temporary file, fsync and a
    /// rename). model.safetensors gets the averaged weights when there are some. Refuses to
    /// write weights that are not finite.
    public static func save(folder: String, config: RunConfig, network: Network, params: Buffer, average: Buffer? = nil,
                            adam: Adam, state: TrainingState) throws {
        for buffer in [params, average].compactMap({ $0 }) {
            guard (0..<buffer.count).allSatisfy({ buffer[$0].isFinite }) else {
                throw RunError.invalid("refusing to write a checkpoint with NaN or infinite weights")
            }
        }
        var meta = ["epoch": "\(state.epoch)", "batch_in_epoch": "\(state.batchInEpoch)", "step": "\(state.step)",
                    "adam_step": "\(adam.step)", "seed": "\(config.training.seed)",
                    "train_seconds": "\(state.trainSeconds)", "data_fingerprint": state.dataFingerprint]
        meta.merge(state.sums.metadata) { $1 }
        meta.merge(state.spikes.metadata) { $1 }
        if let id = config.runID { meta["run_id"] = id }
        meta[versionKey] = "\(version)"
        var tensors: [Safetensors.Entry] = [
            .init(name: "adam.exp_avg", shape: [adam.m.count], values: adam.m.array),
            .init(name: "adam.exp_avg_sq", shape: [adam.v.count], values: adam.v.array),
            .init(name: iterateName, shape: [params.count], values: params.array),
        ]
        if let average { tensors.append(.init(name: averageName, shape: [average.count], values: average.array)) }
        try Safetensors(tensors: tensors, metadata: meta).write(to: folder + "/" + stateFile)
        try writeModel(folder: folder, config: config, network: network, weights: average ?? params, state: state)
    }

    /// model.safetensors alone, stamped with the checkpoint's epoch and step.
    static func writeModel(folder: String, config: RunConfig, network: Network, weights: Buffer, state: TrainingState) throws {
        // No run id here: two runs of the same settings give the same model.safetensors bytes.
        var modelMeta = ["format": "pt", "epoch": "\(state.epoch)", "step": "\(state.step)"]
        if let decay = config.training.averageDecay, decay > 0 { modelMeta["weights"] = "moving average, decay \(decay)" }
        try Self.weights(network, weights, metadata: modelMeta).write(to: folder + "/" + modelFile)
    }

    /// Loads the weights of a run folder into a Buffer laid out for `network`.
    public static func loadWeights(folder: String, network: Network) throws -> Buffer {
        try loadModel(folder: folder, network: network).weights
    }

    /// The weights and the epoch and step they were saved at (nil in files too old to say).
    static func loadModel(folder: String, network: Network) throws -> (weights: Buffer, epoch: Int?, step: Int?) {
        let path = folder + "/" + modelFile
        guard FileManager.default.fileExists(atPath: path) else { throw RunError.noCheckpoint(folder: folder) }
        let file = try Safetensors.read(path)
        let params = Buffer(count: network.parameterCount)
        for t in network.layout.tensors {
            guard let entry = file[t.name] else {
                throw RunError.corrupt(path: path, reason: "tensor '\(t.name)' is missing")
            }
            guard entry.shape == t.shape else {
                throw RunError.corrupt(path: path, reason: "tensor '\(t.name)' has shape \(entry.shape), expected \(t.shape)")
            }
            guard entry.values.allSatisfy(\.isFinite) else {
                throw RunError.corrupt(path: path, reason: "tensor '\(t.name)' holds NaN or infinite values")
            }
            entry.values.withUnsafeBufferPointer { (params.pointer + t.offset).update(from: $0.baseAddress!, count: t.count) }
        }
        // Weights the model does not have (a config.json edited, or from another run) would be
        // dropped without a word: refused instead.
        let known = Set(network.layout.tensors.map(\.name))
        let extra = file.tensors.map(\.name).filter { !known.contains($0) }
        guard extra.isEmpty else {
            throw RunError.corrupt(path: path, reason: "holds tensors the run's config.json does not describe ("
                                   + extra.prefix(3).joined(separator: ", ") + (extra.count > 3 ? ", …" : "") + ")")
        }
        return (params, file.metadata["epoch"].flatMap(Int.init), file.metadata["step"].flatMap(Int.init))
    }

    /// The training state's names for the weights Adam updates and for their moving average.
    static let iterateName = "weights.iterate"
    static let averageName = "weights.average"
    /// Training states that hold every weight say so; earlier ones lack the key.
    static let versionKey = "state_version"
    static let version = 2

    /// Everything a resumed run starts from.
    public struct ResumePoint {
        public var state: TrainingState
        /// The weights Adam updates, and their moving average when the run averages.
        public var params: Buffer
        public var average: Buffer?
        /// model.safetensors is older than the training state (a save was cut short between
        /// the two files): it should be written again from these weights.
        public var modelIsStale: Bool
        let adamStep: Int
        let moments: (m: [Float], v: [Float])

        /// Puts the saved moments and step count into a new trainer's Adam.
        public func restore(_ adam: Adam) {
            moments.m.withUnsafeBufferPointer { adam.m.pointer.update(from: $0.baseAddress!, count: adam.m.count) }
            moments.v.withUnsafeBufferPointer { adam.v.pointer.update(from: $0.baseAddress!, count: adam.v.count) }
            adam.step = adamStep
        }
    }

    /// Reads the training state of `folder` and, when the state is too old to hold every weight,
    /// the weights from model.safetensors, refusing a pair that does not belong together.
    public static func resumePoint(folder: String, network: Network, averaging: Bool) throws -> ResumePoint {
        let path = folder + "/" + stateFile
        guard FileManager.default.fileExists(atPath: path) else {
            throw RunError.corrupt(path: path, reason: "missing: this run cannot be resumed")
        }
        let file = try Safetensors.read(path)
        let n = network.parameterCount
        guard let m = file["adam.exp_avg"], let v = file["adam.exp_avg_sq"], m.values.count == n, v.values.count == n else {
            throw RunError.corrupt(path: path, reason: "Adam moments are missing or do not fit the model")
        }
        let state = try readState(file.metadata, path: path)
        guard let adamStep = file.metadata["adam_step"].flatMap(Int.init), adamStep >= 0 else {
            throw RunError.corrupt(path: path, reason: "training state metadata is incomplete (adam_step)")
        }
        func weights(_ name: String) throws -> Buffer? {
            guard let entry = file[name] else { return nil }
            guard entry.values.count == n else {
                throw RunError.corrupt(path: path, reason: "the training weights do not fit the model")
            }
            guard entry.values.allSatisfy(\.isFinite) else {
                throw RunError.corrupt(path: path, reason: "the training weights hold NaN or infinite values")
            }
            return Buffer(entry.values)
        }
        let iterate = try weights(iterateName), savedAverage = try weights(averageName)
        var point = ResumePoint(state: state, params: Buffer(count: n), average: nil, modelIsStale: false,
                                adamStep: adamStep, moments: (m.values, v.values))
        if file.metadata[versionKey].flatMap(Int.init) ?? 1 >= version {
            // The state holds every weight: the model file is only checked for being current.
            guard let iterate, averaging == (savedAverage != nil) else {
                throw RunError.corrupt(path: path, reason: "the training weights are missing or do not fit the model"
                    + " (config.json's --average-decay does not match this state)")
            }
            point.params = iterate
            point.average = savedAverage
            let model = try? loadModel(folder: folder, network: network)
            point.modelIsStale = model == nil || model?.epoch != state.epoch || model?.step != state.step
            return point
        }
        // A state from before it held the average (or, without averaging, any weights): the
        // model file's weights are part of the checkpoint, and must be from the same save.
        if averaging && iterate == nil {
            throw RunError.corrupt(path: path, reason: "the training weights are missing or do not fit the model")
        }
        let model = try loadModel(folder: folder, network: network)
        if let epoch = model.epoch, let step = model.step, epoch != state.epoch || step != state.step {
            throw RunError.invalid("\(folder): \(modelFile) (epoch \(epoch), step \(step)) and \(stateFile) "
                + "(epoch \(state.epoch), step \(state.step)) are from different checkpoints (a save was cut short); "
                + "this run cannot be resumed exactly")
        }
        if averaging {
            point.params = iterate!
            point.average = model.weights
        } else {
            point.params = model.weights
        }
        return point
    }

    /// Position, sums and fingerprint from a training state's metadata.
    static func readState(_ meta: [String: String], path: String) throws -> TrainingState {
        guard let epoch = meta["epoch"].flatMap(Int.init), let batch = meta["batch_in_epoch"].flatMap(Int.init),
              let step = meta["step"].flatMap(Int.init) else {
            throw RunError.corrupt(path: path, reason: "training state metadata is incomplete")
        }
        guard epoch >= 0, batch >= 0, step >= 0 else {
            throw RunError.corrupt(path: path, reason: "training state position is negative (epoch \(epoch), batch \(batch), step \(step))")
        }
        // No run takes 2^40 steps; larger figures are damage, and would overflow counts made from them.
        guard step < 1 << 40, epoch <= step, batch <= step else {
            throw RunError.corrupt(path: path, reason: "training state position is impossible (epoch \(epoch), batch \(batch), step \(step))")
        }
        var state = TrainingState(epoch: epoch, batchInEpoch: batch, step: step)
        guard let sums = EpochSums(metadata: meta) else {
            throw RunError.corrupt(path: path, reason: "the epoch's running sums do not parse")
        }
        state.sums = sums
        guard let spikes = SpikeGuard.State(metadata: meta) else {
            throw RunError.corrupt(path: path, reason: "the gradient spike guard's running norm does not parse")
        }
        state.spikes = spikes
        state.trainSeconds = meta["train_seconds"].flatMap(Double.init) ?? 0
        state.dataFingerprint = meta["data_fingerprint"] ?? ""
        state.runID = meta["run_id"]
        return state
    }
}
