// Checkpoint: a run folder's model.safetensors, config.json and training state, written atomically.
import Foundation
import VAECore

public enum Checkpoint {
    public static let modelFile = "model.safetensors"
    public static let configFile = "config.json"
    public static let stateFile = "training_state.safetensors"

    /// Where training stands, enough to continue bit for bit.
    public struct State: Sendable, Equatable {
        /// Epochs fully done, and batches done of the next one.
        public var epoch = 0
        public var batchInEpoch = 0
        /// Steps taken (applied or skipped): the index of the next step's noise.
        public var step = 0
        /// Running sums over the current epoch's applied steps, for its metrics line:
        /// loss, reconstruction and KL (nats × images), images, and the count of skipped steps.
        public var sums: [Double] = [0, 0, 0, 0, 0]
        public var trainSeconds = 0.0
        /// Fingerprint of the file list, to tell when a resumed run's folder changed.
        public var dataFingerprint = ""
    }

    /// The weights under their PyTorch names and shapes.
    public static func weights(_ network: Network, _ params: Buffer, metadata: [String: String] = [:]) -> Safetensors {
        Safetensors(tensors: network.layout.tensors.map { t in
            Safetensors.Entry(name: t.name, shape: t.shape,
                              values: Array(UnsafeBufferPointer(start: params.pointer + t.offset, count: t.count)))
        }, metadata: metadata)
    }

    /// Writes config, training state and weights (each through a temporary file and a rename).
    /// model.safetensors gets the averaged weights when there are some (the training state then
    /// keeps the iterate). Refuses to write weights that are not finite.
    public static func save(folder: String, config: RunConfig, network: Network, params: Buffer, average: Buffer? = nil,
                            adam: Adam, state: State) throws {
        for buffer in [params, average].compactMap({ $0 }) {
            guard (0..<buffer.count).allSatisfy({ buffer[$0].isFinite }) else {
                throw RunError.invalid("refusing to write a checkpoint with NaN or infinite weights")
            }
        }
        try config.write(to: folder + "/" + configFile)
        let meta = ["epoch": "\(state.epoch)", "batch_in_epoch": "\(state.batchInEpoch)", "step": "\(state.step)",
                    "adam_step": "\(adam.step)", "seed": "\(config.training.seed)",
                    "sums": state.sums.map { "\($0)" }.joined(separator: ","),
                    "train_seconds": "\(state.trainSeconds)", "data_fingerprint": state.dataFingerprint]
        var tensors: [Safetensors.Entry] = [
            .init(name: "adam.exp_avg", shape: [adam.m.count], values: adam.m.array),
            .init(name: "adam.exp_avg_sq", shape: [adam.v.count], values: adam.v.array),
        ]
        if average != nil { tensors.append(.init(name: iterateName, shape: [params.count], values: params.array)) }
        try Safetensors(tensors: tensors, metadata: meta).write(to: folder + "/" + stateFile)
        var modelMeta = ["format": "pt", "epoch": "\(state.epoch)", "step": "\(state.step)"]
        if let decay = config.training.averageDecay, average != nil { modelMeta["weights"] = "moving average, decay \(decay)" }
        try weights(network, average ?? params, metadata: modelMeta).write(to: folder + "/" + modelFile)
    }

    /// Loads the weights of a run folder into a Buffer laid out for `network`.
    public static func loadWeights(folder: String, network: Network) throws -> Buffer {
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
        return params
    }

    /// The training state's name for the last iterate (the weights Adam updates) when averaging.
    static let iterateName = "weights.iterate"

    /// Loads Adam's moments and the training state, and, into `iterate` when given, the weights
    /// Adam updates (an averaging run keeps them here; its model.safetensors holds the average).
    public static func loadState(folder: String, adam: Adam, iterate: Buffer? = nil) throws -> State {
        let path = folder + "/" + stateFile
        guard FileManager.default.fileExists(atPath: path) else {
            throw RunError.corrupt(path: path, reason: "missing: this run cannot be resumed")
        }
        let file = try Safetensors.read(path)
        guard let m = file["adam.exp_avg"], let v = file["adam.exp_avg_sq"], m.values.count == adam.m.count,
              v.values.count == adam.v.count else {
            throw RunError.corrupt(path: path, reason: "Adam moments are missing or do not fit the model")
        }
        m.values.withUnsafeBufferPointer { adam.m.pointer.update(from: $0.baseAddress!, count: adam.m.count) }
        v.values.withUnsafeBufferPointer { adam.v.pointer.update(from: $0.baseAddress!, count: adam.v.count) }
        if let iterate {
            guard let entry = file[iterateName], entry.values.count == iterate.count else {
                throw RunError.corrupt(path: path, reason: "the training weights are missing or do not fit the model")
            }
            guard entry.values.allSatisfy(\.isFinite) else {
                throw RunError.corrupt(path: path, reason: "the training weights hold NaN or infinite values")
            }
            entry.values.withUnsafeBufferPointer { iterate.pointer.update(from: $0.baseAddress!, count: iterate.count) }
        }
        let meta = file.metadata
        guard let epoch = meta["epoch"].flatMap(Int.init), let batch = meta["batch_in_epoch"].flatMap(Int.init),
              let step = meta["step"].flatMap(Int.init), let adamStep = meta["adam_step"].flatMap(Int.init) else {
            throw RunError.corrupt(path: path, reason: "training state metadata is incomplete")
        }
        adam.step = adamStep
        var state = State(epoch: epoch, batchInEpoch: batch, step: step)
        let sums = (meta["sums"] ?? "").split(separator: ",").compactMap { Double($0) }
        if sums.count == 5 { state.sums = sums }
        state.trainSeconds = meta["train_seconds"].flatMap(Double.init) ?? 0
        state.dataFingerprint = meta["data_fingerprint"] ?? ""
        return state
    }
}
