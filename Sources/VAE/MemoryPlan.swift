// MemoryPlan: the memory a training run or a loaded model will take, worked out before anything is allocated.
import Foundation
import VAECore

/// Bytes by what they are for, added with overflow checks (a config.json can ask for anything).
public struct MemoryPlan: Sendable {
    public private(set) var parts: [(what: String, bytes: Int)] = []
    /// Saturates at Int.max instead of overflowing.
    public private(set) var total = 0

    public init() {}

    /// Adds `count` items of `size` bytes.
    public mutating func add(_ what: String, count: Int, size: Int = MemoryLayout<Float>.stride) {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        let part = overflow || count < 0 ? Int.max : bytes
        parts.append((what, part))
        let (sum, over) = total.addingReportingOverflow(part)
        total = over ? Int.max : sum
    }

    /// A training run: the images held as bytes, the weights and Adam's moments, the summed
    /// gradient and the average, and per shard a workspace (its gradient included) for its part
    /// of the batch; the model that draws pictures and validates, with one small workspace per thread.
    /// Decoding takes at most `decodePixels` pixels at once over all threads, at about 16 bytes
    /// a pixel at its peak (the decoded bytes and the image as floats).
    public static func training(model: ModelConfig, batch: Int, shards: Int, threads: Int, images: Int,
                                averaging: Bool, decodePixels: Int = 0) -> MemoryPlan {
        var plan = MemoryPlan()
        guard model.problem == nil else { return plan }
        let network = Network(config: model), p = network.parameterCount
        let (imageBytes, o1) = images.multipliedReportingOverflow(by: model.imageFloats)
        plan.add("images", count: o1 ? Int.max : imageBytes, size: 1)
        plan.add("the batch", count: batch * model.imageFloats)
        plan.add("weights, Adam's moments, summed gradient\(averaging ? ", average" : "")",
                 count: p * (averaging ? 5 : 4))
        let perShard = (batch + shards - 1) / shards
        plan.add("\(shards) workspaces of \(perShard) images", count: Workspace.floatCount(network: network, capacity: perShard) * shards)
        plan.add("\(threads) picture workspaces", count: Workspace.floatCount(network: network, capacity: 32) * threads)
        plan.add("decoding", count: decodePixels, size: 16)
        plan.add("writing checkpoints", count: p * checkpointFloatsPerParameter)
        plan.addProgram()
        return plan
    }

    /// What the parts above leave out, measured (session 10) as peak RSS less the plan's other
    /// parts, one epoch of 4,000 fmnist or 2,000 rgb64 images held in memory, 2 threads: 94 and 160 MB
    /// in fp32, 115 and 191 MB in bf16. About 8 floats a parameter of it grows with the model
    /// (the checkpoint's tensors serialised in memory: weights, Adam's moments, the average; 54
    /// and 95 MB); the rest, up to 97 MB, is the program: its code and libraries, OpenBLAS's and
    /// oneDNN's buffers, the bf16 weight copies.
    static let checkpointFloatsPerParameter = 8
    static let programBytes = 150_000_000

    /// The program's own part, in every plan.
    mutating func addProgram() { add("the program (code, libraries, BLAS and oneDNN buffers)", count: Self.programBytes, size: 1) }

    /// A trained model loaded to sample, reconstruct or evaluate: its weights and a workspace of
    /// `chunk` images per thread.
    public static func inference(model: ModelConfig, threads: Int, chunk: Int) -> MemoryPlan {
        var plan = MemoryPlan()
        guard model.problem == nil else { return plan }
        let network = Network(config: model)
        plan.add("weights", count: network.parameterCount * 2)
        plan.add("\(threads) workspaces of \(chunk) images", count: Workspace.floatCount(network: network, capacity: chunk) * threads)
        plan.addProgram()
        return plan
    }

    /// Refuses a plan over `budget` bytes with one line: what it needs, its largest parts, and what to change.
    public func check(budget: Int, advice: String) throws {
        guard total > budget else { return }
        throw MemoryError(description: "this needs about \(Self.describe(total)) of memory (\(largest)), over the "
                          + "\(Self.describe(budget)) budget: \(advice)")
    }

    /// Bytes this process could still take: the least of the kernel's MemAvailable, the room left
    /// under `ulimit -v` (RLIMIT_AS less the address space already mapped) and under the cgroup's
    /// memory.max; nil when none can be read.
    public static func available() -> Int? {
        var limits: [Int] = []
        if let kib = field("MemAvailable:", in: "/proc/meminfo") { limits.append(kib * 1024) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur < UInt64(Int.max) {
            let mapped = (field("VmSize:", in: "/proc/self/status") ?? 0) * 1024
            limits.append(Swift.max(0, Int(limit.rlim_cur) - mapped))
        }
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let most = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            let used = (try? String(contentsOfFile: "/sys/fs/cgroup/memory.current", encoding: .utf8))
                .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            limits.append(Swift.max(0, most - used))
        }
        return limits.min()
    }

    /// The number after `key` in a /proc file of "Key: value kB" lines.
    static func field(_ key: String, in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }

    /// The default budget: what is available less a tenth (other programs keep running, and the
    /// plan leaves out small things), or 8 GiB where that cannot be read.
    public static func defaultBudget() -> Int { available().map { $0 / 10 * 9 } ?? 8 << 30 }

    /// Human-readable bytes: "1.2 GB", "350 MB".
    public static func describe(_ bytes: Int) -> String {
        if bytes == Int.max { return "more than this machine can address" }
        let b = Double(bytes)
        if b >= 1e9 { return String(format: "%.1f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.0f MB", b / 1e6) }
        return String(format: "%.0f kB", b / 1e3)
    }

    /// The largest parts, for the message when the plan is over budget.
    public var largest: String {
        parts.sorted { $0.bytes > $1.bytes }.prefix(2).map { "\($0.what) \(Self.describe($0.bytes))" }
            .joined(separator: ", ")
    }
}

public struct MemoryError: Error, CustomStringConvertible {
    public var description: String
}

extension Workspace {
    /// Floats a workspace for `capacity` images allocates (the same sums as its init).
    public static func floatCount(network: Network, capacity B: Int) -> Int {
        let cfg = network.config, L = cfg.latent
        let layers = network.encoder + network.decoder
        var total = cfg.channels > 1 ? B * cfg.imageFloats : 0
        total += layers.reduce(0) { $0 + 2 * B * $1.layer.outputShape.count + $1.layer.savedCount(batch: B) }
        total += 7 * B * L
        total += network.outputShape.channels > 1 ? 2 * B * network.outputShape.count : 0
        total += layers.map { $0.layer.scratchCount(batch: B) }.max() ?? 0
        // The autoregressive term's unfolded pixels and hidden units, allocated in its NLL call.
        total += (network.likelihood as? AutoregressiveBernoulliLikelihood)?.scratchFloats(image: network.imageShape) ?? 0
        return total + network.parameterCount
    }
}
