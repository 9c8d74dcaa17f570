// Benchmark: times training steps and inference on a random batch in memory, as the PyTorch peer does.
import Foundation
import VAECore

public struct BenchmarkResult: Sendable {
    public var trainImagesPerSecond: Double
    public var inferImagesPerSecond: Double
    public var trainGFLOPS: Double
    public var inferGFLOPS: Double
    public var parameters: Int
    /// With profiling: thread-seconds per primitive and layer of the timed training steps, and
    /// of the timed inference passes.
    public var profile: Profiler?
    public var inferenceProfile: Profiler?
    /// With a profile: the FLOPs the convolution layers did in the timed training steps, and the
    /// thread-seconds those layers took (forward and backward).
    public var convolutionFLOP: Double?
    public var convolutionSeconds: Double?
}

public enum Benchmark {
    /// `steps` timed training steps after 5 warm-up steps, then `steps` timed inference passes
    /// (encode, decode the means) after 3 warm-up passes. FLOPs count 2 per multiply-add;
    /// a training step is taken as 3 forward passes' worth, as REFERENCE.md does. Steps are
    /// those of `vae train`, weight averaging included.
    public static func run(config: ModelConfig, batch: Int, steps: Int, threads: Int, shards: Int,
                           profile: Bool = false) -> BenchmarkResult {
        let network = Network(config: config)
        let trainer = Trainer(network: network, batch: batch, seed: 0, shards: shards, threads: threads,
                              averageDecay: TrainOptions.defaultAverageDecay)
        trainer.configureBLAS()
        let images = Buffer(count: batch * config.imageFloats)
        RandomStream(seed: 1, purpose: .sampling).fillUniform(images.pointer, count: images.count, low: 0, high: 1)
        for i in 0..<5 { _ = trainer.step(images.pointer, count: batch, noiseIndex: UInt64(i)) }
        for ws in trainer.workspaces { ws.profiler.enabled = profile }
        var start = Profiler.now()
        for i in 0..<steps { _ = trainer.step(images.pointer, count: batch, noiseIndex: UInt64(i + 5)) }
        let trainSeconds = Profiler.now() - start
        // Each workspace's profiler totals, summed over threads; the profilers start again at zero.
        func collect() -> Profiler {
            let total = Profiler()
            for ws in trainer.workspaces {
                total.add(ws.profiler)
                ws.profiler.reset()
            }
            return total
        }
        let trainProfile = collect()
        for ws in trainer.workspaces { ws.profiler.enabled = false }
        for _ in 0..<3 { trainer.reconstructMeans(images.pointer, count: batch) }
        for ws in trainer.workspaces { ws.profiler.enabled = profile }
        start = Profiler.now()
        for _ in 0..<steps { trainer.reconstructMeans(images.pointer, count: batch) }
        let inferSeconds = Profiler.now() - start
        let inferProfile = collect()
        for ws in trainer.workspaces { ws.profiler.enabled = false }
        let flops = 2 * Double(network.forwardMultiplyAdds)
        let trainRate = Double(steps * batch) / trainSeconds, inferRate = Double(steps * batch) / inferSeconds
        var result = BenchmarkResult(trainImagesPerSecond: trainRate, inferImagesPerSecond: inferRate,
                                     trainGFLOPS: 3 * flops * trainRate / 1e9, inferGFLOPS: flops * inferRate / 1e9,
                                     parameters: network.parameterCount, profile: profile ? trainProfile : nil,
                                     inferenceProfile: profile ? inferProfile : nil)
        if profile {
            let names = Set(network.convolutionLayers.flatMap { [$0.name + " forward", $0.name + " backward"] })
            result.convolutionSeconds = trainProfile.layers.filter { names.contains($0.key) }.values.reduce(0, +)
            result.convolutionFLOP = 2 * Double(network.convolutionTrainingMultiplyAdds) * Double(steps * batch)
        }
        return result
    }

    /// GFLOP/s of a square n×n single-precision GEMM with the current BLAS threads: the best of
    /// `rounds` timings of `repeats` products (the rate the BLAS reaches; a single timing moved
    /// by 8 % from run to run on a 2-core EPYC).
    public static func squareGEMM(n: Int = 1024, repeats: Int = 10, rounds: Int = 5) -> Double {
        let a = Buffer(count: n * n), b = Buffer(count: n * n), c = Buffer(count: n * n)
        RandomStream(seed: 2, purpose: .sampling).fillUniform(a.pointer, count: n * n, low: -1, high: 1)
        RandomStream(seed: 3, purpose: .sampling).fillUniform(b.pointer, count: n * n, low: -1, high: 1)
        gemm(m: n, n: n, k: n, a: a.pointer, b: b.pointer, c: c.pointer)
        var best = 0.0
        for _ in 0..<rounds {
            let start = Profiler.now()
            for _ in 0..<repeats { gemm(m: n, n: n, k: n, a: a.pointer, b: b.pointer, c: c.pointer) }
            best = Swift.max(best, 2 * Double(n * n * n) * Double(repeats) / (Profiler.now() - start) / 1e9)
        }
        return best
    }
}
