// Model: a trained network with its weights, for encoding, decoding and evaluation without gradients.
import Foundation
import ImageIO
import VAECore

public final class Model: @unchecked Sendable {
    public let network: Network
    public let params: Buffer
    public let run: RunConfig?
    /// The checkpoint the weights were saved at, when they come from a run folder that says.
    public internal(set) var stamp: ModelStamp?
    public var threads: Int
    /// One workspace per thread; work is cut into chunks of `chunk` images.
    let workspaces: [Workspace]
    public let chunk: Int
    /// What the layer products compute in (.fp32 or .bf16, resolved): encode, decode, evaluation.
    public var precision: Precision = .fp32

    public init(network: Network, params: Buffer, run: RunConfig? = nil,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, chunk: Int = 64) {
        self.network = network
        self.params = params
        self.run = run
        self.threads = Swift.max(1, threads)
        self.chunk = chunk
        workspaces = (0..<self.threads).map { _ in Workspace(network: network, capacity: chunk) }
    }

    /// Loads a run folder written by `vae train`.
    public convenience init(folder: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount, chunk: Int = 64) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunError.invalid("\(folder): no such run folder")
        }
        let run = try RunConfig.read(folder + "/" + Checkpoint.configFile)
        if let problem = run.problem { throw RunError.corrupt(path: folder + "/config.json", reason: problem) }
        try MemoryPlan.inference(model: run.model, threads: Swift.max(1, threads), chunk: chunk)
            .check(budget: MemoryPlan.defaultBudget(), advice: "use fewer --threads, or a machine with more memory")
        let network = Network(config: run.model)
        let saved = try Checkpoint.loadModel(folder: folder, network: network)
        BLAS.setThreads(1)
        self.init(network: network, params: saved.weights, run: run, threads: threads, chunk: chunk)
        if let epoch = saved.epoch, let step = saved.step { stamp = ModelStamp(epoch: epoch, step: step) }
    }

    public var config: ModelConfig { network.config }

    /// Runs `body(workspace, range)` over `count` items in chunks, chunk i on thread i mod threads.
    func forEachChunk(_ count: Int, _ body: (Workspace, Range<Int>) -> Void) {
        let chunks = (count + chunk - 1) / chunk
        let lanes = Swift.min(threads, Swift.max(chunks, 1))
        Parallel.run(items: lanes, threads: lanes) { lane in
            // The weights are fixed for the call: in bf16 each is rounded once per lane.
            LayerGEMM.with(precision) { BF16WeightCache.whileWeightsFixed {
                var c = lane
                while c < chunks {
                    body(workspaces[lane], (c * chunk)..<Swift.min(count, (c + 1) * chunk))
                    c += lanes
                }
            } }
        }
    }

    /// Means and log-variances of q(z|x) for `count` images (B, C, H, W).
    public func encode(_ images: [Float], count: Int) -> (mean: [Float], logVariance: [Float]) {
        let L = config.latent, n = config.imageFloats
        var mean = [Float](repeating: 0, count: count * L), logVar = mean
        images.withUnsafeBufferPointer { x in
            mean.withUnsafeMutableBufferPointer { m in
                logVar.withUnsafeMutableBufferPointer { lv in
                    let (x, m, lv) = (x, m, lv)
                    forEachChunk(count) { ws, range in
                        network.encode(x.baseAddress! + range.lowerBound * n, batch: range.count, params: params.pointer, in: ws)
                        (m.baseAddress! + range.lowerBound * L).update(from: ws.mean.pointer, count: range.count * L)
                        (lv.baseAddress! + range.lowerBound * L).update(from: ws.logVariance.pointer, count: range.count * L)
                    }
                }
            }
        }
        return (mean, logVar)
    }

    /// Images (B, C, H, W) in [0, 1] decoded from latents: the likelihood's mean (σ(logits) for Bernoulli).
    public func decode(_ z: [Float], count: Int) -> [Float] {
        let L = config.latent, n = config.imageFloats
        var out = [Float](repeating: 0, count: count * n)
        z.withUnsafeBufferPointer { z in
            out.withUnsafeMutableBufferPointer { o in
                let (z, o) = (z, o)
                forEachChunk(count) { ws, range in
                    ws.z.pointer.update(from: z.baseAddress! + range.lowerBound * L, count: range.count * L)
                    network.decode(batch: range.count, params: params.pointer, in: ws)
                    network.likelihood.mean(output: ws.logits.pointer, batch: range.count, image: network.imageShape,
                                            parameters: params.pointer + network.likelihoodOffset,
                                            into: o.baseAddress! + range.lowerBound * n)
                }
            }
        }
        return out
    }

    /// Images (B, C, H, W) → the decoded means of their encodings.
    public func reconstruct(_ images: [Float], count: Int) -> [Float] {
        decode(encode(images, count: count).mean, count: count)
    }

    /// `count` (C, H, W) images in a flat array as Images.
    public func images(_ planar: [Float], count: Int) -> [Image] {
        planar.withUnsafeBufferPointer { p in
            (0..<count).map { Image(planar: p.baseAddress! + $0 * config.imageFloats, side: config.size, channels: config.channels) }
        }
    }
}
