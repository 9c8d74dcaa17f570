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
    /// With `recordShapes`: every product of one training step, by shape, and how often it ran.
    public var gemmShapes: [LayerGEMM.Shape: Int]?
}

/// One layer product's rate on one thread (as each shard runs its products), in GFLOP/s.
public struct GEMMShapeRate: Sendable {
    public var shape: LayerGEMM.Shape
    /// Products of this shape in one training step.
    public var count: Int
    public var fp32: Double
    /// bf16 inputs rounded from f32 in the call, as the layers give them; nil without bf16.
    public var bf16: Double?
}

public enum Benchmark {
    /// `steps` timed training steps after 5 warm-up steps, then `steps` timed inference passes
    /// (encode, decode the means) after 3 warm-up passes. FLOPs count 2 per multiply-add;
    /// a training step is taken as 3 forward passes' worth (the usual count). Steps are
    /// those of `vae train`, weight averaging included; `precision` is a resolved choice.
    public static func run(config: ModelConfig, batch: Int, steps: Int, threads: Int, shards: Int,
                           profile: Bool = false, recordShapes: Bool = false,
                           precision: Precision = .fp32) -> BenchmarkResult {
        let network = Network(config: config)
        let trainer = Trainer(network: network, batch: batch, seed: 0, shards: shards, threads: threads,
                              averageDecay: TrainOptions.defaultAverageDecay)
        trainer.precision = precision
        trainer.configureBLAS()
        let images = Buffer(count: batch * config.imageFloats)
        RandomStream(seed: 1, purpose: .sampling).fillUniform(images.pointer, count: images.count, low: 0, high: 1)
        for i in 0..<5 {
            LayerGEMM.recording = recordShapes && i == 4
            _ = trainer.step(images.pointer, count: batch, noiseIndex: UInt64(i))
        }
        LayerGEMM.recording = false
        let shapes = LayerGEMM.shapes
        LayerGEMM.clearShapes()
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
                                     inferenceProfile: profile ? inferProfile : nil,
                                     gemmShapes: recordShapes ? shapes : nil)
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

    /// The rate of each layer product of a training step on one thread, fp32 (OpenBLAS) and,
    /// with `bf16`, bf16 (oneDNN, f32 inputs rounded in the call): the best of 3 rounds of about
    /// 20 ms each, fp32 and bf16 alternating so that a change of load hits both.
    public static func layerGEMMRates(_ shapes: [LayerGEMM.Shape: Int], bf16: Bool) -> [GEMMShapeRate] {
        BLAS.setThreads(1)
        return shapes.sorted { $0.key.flop * Double($0.value) > $1.key.flop * Double($1.value) }.map { shape, count in
            let s = shape
            let a = Buffer(count: (s.transA ? s.k : s.m) * s.lda), b = Buffer(count: (s.transB ? s.n : s.k) * s.ldb)
            let c = Buffer(count: s.m * s.ldc)
            RandomStream(seed: 2, purpose: .sampling).fillUniform(a.pointer, count: a.count, low: -1, high: 1)
            RandomStream(seed: 3, purpose: .sampling).fillUniform(b.pointer, count: b.count, low: -1, high: 1)
            func fp32() {
                gemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a.pointer, lda: s.lda,
                     b: b.pointer, ldb: s.ldb, beta: s.beta, c: c.pointer, ldc: s.ldc)
            }
            func half() -> Bool {
                (try? bf16GEMM(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a.pointer, lda: s.lda,
                               b: b.pointer, ldb: s.ldb, beta: s.beta, c: c.pointer, ldc: s.ldc, threads: 1)) != nil
            }
            var works = bf16 && half()
            fp32()
            let repeats = Swift.max(1, Int(20e6 / Swift.max(s.flop, 1) * 0.1))  // ~20 ms at 100 GFLOP/s
            var best = (fp32: 0.0, bf16: 0.0)
            for _ in 0..<3 {
                var start = Profiler.now()
                for _ in 0..<repeats { fp32() }
                best.fp32 = Swift.max(best.fp32, s.flop * Double(repeats) / (Profiler.now() - start) / 1e9)
                guard works else { continue }
                start = Profiler.now()
                for _ in 0..<repeats { works = half() && works }
                best.bf16 = Swift.max(best.bf16, s.flop * Double(repeats) / (Profiler.now() - start) / 1e9)
            }
            return GEMMShapeRate(shape: s, count: count, fp32: best.fp32, bf16: works ? best.bf16 : nil)
        }
    }

    /// GFLOP/s of a square n×n bf16 product (oneDNN, bf16 inputs, f32 output) on `threads`
    /// threads, measured as `squareGEMM`; nil when oneDNN cannot run it.
    public static func squareBF16GEMM(n: Int = 1024, threads: Int, repeats: Int = 10, rounds: Int = 5) -> Double? {
        var random = RandomStream(seed: 2, purpose: .sampling)
        let a = (0..<n * n).map { _ in BF16.bits(random.uniform() * 2 - 1) }, b = a.reversed() as [UInt16]
        let c = Buffer(count: n * n)
        func product() -> Bool {
            (try? bf16GEMM(m: n, n: n, k: n, a: a, b: b, c: c.pointer, threads: threads)) != nil
        }
        guard product() else { return nil }
        var best = 0.0
        for _ in 0..<rounds {
            let start = Profiler.now()
            for _ in 0..<repeats { _ = product() }
            best = Swift.max(best, 2 * Double(n * n * n) * Double(repeats) / (Profiler.now() - start) / 1e9)
        }
        return best
    }
}
