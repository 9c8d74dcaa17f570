// RunConfig: everything that defines a training run, saved as config.json in the run folder.
import Foundation
import VAECore

public struct TrainOptions: Codable, Sendable, Equatable {
    public var epochs: Int = 10
    public var batch: Int = 64
    public var learningRate: Float = 1e-3
    public var beta: Float = 1
    public var seed: UInt64 = 0
    /// Share of the images held out for validation, chosen by the seed.
    public var validationFraction: Double = 0.05
    /// The batch is cut into this many shards; results depend on it, not on the thread count.
    public var shards: Int = 2
    public var clipNorm: Float?
    /// A step whose gradient norm is above this many times the usual is not applied (SpikeGuard);
    /// nil applies every finite step, as runs made before --skip-spikes did.
    public var skipSpikes: Double?
    public static let defaultSkipSpikes = 20.0
    /// Decay of the moving average of the weights that is validated and saved; nil keeps the
    /// last iterate (as runs made before averaging existed, whose config.json lacks the key).
    public var averageDecay: Float? = TrainOptions.defaultAverageDecay
    public static let defaultAverageDecay: Float = 0.99
    /// Non-finite steps in a row after which training stops.
    public var maxBadSteps: Int = 3
    // Schedules, free bits, flips and the time budget (TrainOptions+Schedule.swift). All optional,
    // so config.json files written before them load: nil means the run did without.
    /// β ramps linearly from 0 to `beta` over this many steps (--kl-warmup).
    public var klWarmupSteps: Int?
    /// Free bits λ in nats per latent dimension (--free-bits).
    public var freeBits: Float?
    /// The learning rate's schedule (--schedule, --warmup-steps); nil is a constant rate.
    public var schedule: LearningRateSchedule?
    /// Each training image mirrored left to right with probability ½ (--flip).
    public var flip: Bool?
    /// Seconds of training steps after which the run ends (--time-limit).
    public var timeLimit: Double?
    /// What the layer products compute in, as resolved when the run started (fp32 or bf16, never
    /// auto): a resumed run keeps it, so that it stays bit-exact. nil in runs made before
    /// --precision, which were fp32.
    public var precision: Precision?
    /// The order of a run whose images were streamed from the image cache (larger than the memory
    /// budget when it started); nil: a full shuffle of images held in memory. Kept so that a
    /// resumed run takes the same batches whatever its budget is now.
    public var stream: QuasiRandomOrder?
    /// The precision the run trains in (fp32 for runs older than the key).
    public var runPrecision: Precision { precision ?? .fp32 }

    public init() {}
}

public struct RunConfig: Codable, Sendable, Equatable {
    public var model: ModelConfig
    public var data: ImagePreparation
    public var training: TrainOptions
    /// The folders the run was trained on (absolute), for --resume without naming them again.
    public var dataFolders: [String]
    /// At most this many images were used (--limit), the first in sorted order; nil for all.
    /// Runs saved before the key existed used them all.
    public var limit: Int?
    /// Made at random when the run starts and written into its checkpoints, so that a training
    /// state copied in from another run (of the same shape) is refused; nil in older runs.
    public var runID: String?
    /// 1: the first runs; 2: `limit` is saved (nil then means every image was used).
    public var version: Int = RunConfig.limitVersion
    public static let limitVersion = 2

    public init(model: ModelConfig, data: ImagePreparation, training: TrainOptions, dataFolders: [String], limit: Int? = nil) {
        (self.model, self.data, self.training, self.dataFolders, self.limit) = (model, data, training, dataFolders, limit)
    }

    /// A new random run identity: 16 hex digits.
    public static func newRunID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16).leftPadded(to: 16)
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write([UInt8](try encoder.encode(self)) + [0x0A], to: path)
    }

    /// Reads and checks config.json: it must be a regular file of sensible size whose fields are
    /// within bounds and agree with each other (`problem`), or the error names the file and field.
    public static func read(_ path: String) throws -> RunConfig {
        guard FileManager.default.fileExists(atPath: path) else { throw RunError.noCheckpoint(folder: Folders.parent(of: path)) }
        // Errors name the file: "run/config.json: cannot read file (fifo, not a regular file)".
        let bytes = try ImageDecoder.readFile(path, limit: 16 << 20)
        let config = try decode(Data(bytes), path: path)
        if let problem = config.problem { throw RunError.corrupt(path: path, reason: problem) }
        return config
    }

    /// Decodes config.json's bytes; `path` only names the file in errors (the fuzz target's entry point).
    public static func decode(_ data: Data, path: String) throws -> RunConfig {
        do {
            return try JSONDecoder().decode(RunConfig.self, from: data)
        } catch {
            // Foundation reports a number that does not fit its field (28.5 or 2^63 for a whole
            // number) as invalid JSON, without the key; say what it is when the JSON itself is fine.
            if case .dataCorrupted(let context)? = error as? DecodingError, context.codingPath.isEmpty,
               (try? JSONSerialization.jsonObject(with: data)) != nil {
                throw RunError.corrupt(path: path, reason: "config.json does not parse (a number does not fit its field: "
                                       + "a fraction where a whole number belongs, or one too large)")
            }
            throw RunError.corrupt(path: path, reason: "config.json does not parse (\(ModelChoice.reason(error)))")
        }
    }
}

import ImageIO

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}

public enum RunError: Error, CustomStringConvertible {
    case noCheckpoint(folder: String)
    case corrupt(path: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .noCheckpoint(folder):
            return "\(folder): no checkpoint here (expected config.json and model.safetensors from 'vae train')"
        case let .corrupt(path, reason): return "\(path): \(reason)"
        case let .invalid(message): return message
        }
    }
}
