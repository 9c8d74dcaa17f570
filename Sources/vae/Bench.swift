// vae bench: training and inference speed of a reference configuration or a model file, in the PyTorch peer's format.
import ArgumentParser
import Foundation
import VAE
import VAECore

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training and inference speed on a random batch held in memory.",
        discussion: """
        Times full training steps (forward, backward, Adam) after 5 warm-up steps, then inference (encode, decode the means). Prints the same lines as 'python3 python/train_torch.py speed' does for PyTorch, so the two can be run one after the other and compared. --model FILE times the model a JSON file describes (a run's config.json, or its "model" section, as 'vae train --model' reads it), with the run's batch size unless --batch is given. --profile adds the time per layer and per primitive, and the rate of the convolution layers (forward and backward) in GFLOP/s; with --gemm as well, that rate as a share of a square 1024 sgemm's on the same BLAS and threads, and of that many times its one-thread rate. --gemm also times every product of a training step on one thread (as each shard runs them) in fp32 and, where the CPU has native bf16, in bf16, beside a square 1024 bf16 product. --precision auto (the default) runs the layers' products in bf16 (bf16 inputs, f32 sums) where the CPU has native bf16 products, as training does; weights, Adam, the loss and the KL stay fp32. Pass --precision fp32 to time fp32.
        """)

    @Option(help: "Reference configuration: \(ModelConfig.presets.keys.sorted().joined(separator: ", ")) (default fmnist).")
    var preset: String?

    @Option(help: "Model family at the preset's sizes: plain (the preset itself, the default) or resnet (ModelConfig.resnet).")
    var arch: ModelChoice.Architecture?

    @Option(help: "A model described as block lists in a JSON file: a run's config.json (its batch size too) or its \"model\" section.")
    var model: String?

    @Option(help: "Timed steps.")
    var steps: Int = 50

    @Option(help: "Threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Shards the batch is cut into, each run with single-threaded GEMMs (default: one per thread). With 1, BLAS uses all threads on the whole batch instead.")
    var shards: Int?

    @Option(help: "Batch size (default: the preset's, the model file's run, or 64).")
    var batch: Int?

    @Option(help: "Floats an im2col column buffer may hold; images go through im2col in chunks that fit (default \(ColumnChunking.budget)).")
    var columnBudget: Int?

    @Option(help: "Columns a chunk's GEMM gets at least, even past the budget (default \(ColumnChunking.minimumColumns)).")
    var minimumColumns: Int?

    @Flag(help: "Print time per layer and per primitive.")
    var profile = false

    @Flag(help: "Also measure a square 1024 sgemm (and bf16 product) with the same threads, and each layer product's rate on one thread.")
    var gemm = false

    @Flag(help: "Under mpirun: time the sum of one step's gradient across the ranks (training's exchange, MPI_Allreduce of as many floats, and with two ranks the exchange by hand that more ranks use), then training steps with that sum after the backward pass and overlapped with it in buckets; --steps repeats, --shards shards (default: one per rank).")
    var allreduce = false

    @OptionGroup var buckets: BucketOptions

    @Option(help: "fp32, bf16 (bf16 GEMM inputs, f32 sums; refused where the CPU has no native bf16) or auto (bf16 where native, else fp32; the default).")
    var precision: Precision = .auto

    func validate() throws {
        if model != nil {
            let clashing = [("--preset", preset != nil), ("--arch", arch != nil)].filter(\.1).map(\.0)
            guard clashing.isEmpty else {
                throw ValidationError("--model describes the whole model: drop \(clashing.joined(separator: ", "))")
            }
            _ = try benchedModel()
        } else if let preset, ModelConfig.presets[preset] == nil {
            throw ValidationError("unknown preset '\(preset)': use one of \(ModelConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        if buckets.bucketMb != nil && !allreduce { throw ValidationError("--bucket-mb goes with --allreduce") }
        guard (1...100_000).contains(steps) else { throw ValidationError("--steps must be between 1 and 100000") }
        guard (1...ThreadOptions.maxThreads).contains(threads) else {
            throw ValidationError("--threads must be between 1 and \(ThreadOptions.maxThreads) (4 × the cores here)")
        }
        if let batch, !(1...65536).contains(batch) { throw ValidationError("--batch must be between 1 and 65536") }
        if let shards, !(1...Swift.max(1, batch ?? 65536)).contains(shards) || shards > 1024 {
            throw ValidationError("--shards must be between 1 and the batch size (at most 1024)")
        }
        if let columnBudget, !(1...(1 << 28)).contains(columnBudget) { throw ValidationError("--column-budget must be between 1 and 2^28 floats") }
        if let minimumColumns, !(1...(1 << 20)).contains(minimumColumns) {
            throw ValidationError("--minimum-columns must be between 1 and 2^20")
        }
    }

    func run() throws {
        if allreduce { return try runAllreduce() }
        if let columnBudget { ColumnChunking.budget = columnBudget }
        if let minimumColumns { ColumnChunking.minimumColumns = minimumColumns }
        let (config, name, fileBatch) = try benchedModel()
        let batch = self.batch ?? fileBatch
        guard (1...65536).contains(batch) else {
            throw ValidationError("\(model ?? ""): training.batch \(batch) is out of range (1–65536); give --batch")
        }
        if let shards = self.shards, shards > batch { throw ValidationError("--shards must be between 1 and the batch size (at most 1024)") }
        let shards = Swift.min(self.shards ?? threads, batch)
        do {
            try MemoryPlan.training(model: config, batch: batch, shards: shards, threads: threads, images: 0, averaging: true)
                .check(budget: MemoryPlan.defaultBudget(), advice: "use a smaller --batch or fewer --threads")
        } catch {
            throw RunFailure("\(error)")
        }
        let chosen: PrecisionChoice
        do { chosen = try PrecisionChoice.resolve(precision) } catch { throw RunFailure("\(error)") }
        print("precision \(chosen.reason)" + (chosen.precision == .bf16 ? ", oneDNN matmul" : ""))
        let r = Benchmark.run(config: config, batch: batch, steps: steps, threads: threads, shards: shards,
                              profile: profile, recordShapes: gemm, precision: chosen.precision)
        print(String(format: "train_images_per_s %.1f img/s (%@, batch %d, threads %d, shards %d) %.1f GFLOP/s",
                     r.trainImagesPerSecond, name, batch, threads, shards, r.trainGFLOPS))
        print(String(format: "infer_images_per_s %.1f img/s %.1f GFLOP/s", r.inferImagesPerSecond, r.inferGFLOPS))
        print("params \(r.parameters)")
        var square: (all: Double, one: Double)?
        if gemm {
            BLAS.setThreads(threads)
            let all = Benchmark.squareGEMM()
            print(String(format: "sgemm_1024_gflops %.1f GFLOP/s (threads %d)", all, threads))
            BLAS.setThreads(1)
            let one = Benchmark.squareGEMM()
            print(String(format: "sgemm_1024_gflops_1thread %.1f GFLOP/s", one))
            square = (all, one)
            let bf16 = (try? PrecisionChoice.resolve(.bf16)) != nil
            if bf16, let all = Benchmark.squareBF16GEMM(threads: threads), let one = Benchmark.squareBF16GEMM(threads: 1) {
                print(String(format: "bf16gemm_1024_gflops %.1f GFLOP/s (threads %d, oneDNN %@)", all, threads, BF16.kernelName))
                print(String(format: "bf16gemm_1024_gflops_1thread %.1f GFLOP/s", one))
            }
            if let shapes = r.gemmShapes { printLayerRates(Benchmark.layerGEMMRates(shapes, bf16: bf16)) }
            BLAS.setThreads(threads)
        }
        if let flop = r.convolutionFLOP, let seconds = r.convolutionSeconds, seconds > 0 {
            // The layer times are summed over the shard threads running at once (with one shard,
            // BLAS's own threads work inside a single timed call), so their mean is the wall time:
            // the layers' rate with every thread at work, beside square sgemm with the same
            // threads, and beside `threads` times its one-thread rate (the stricter of the two
            // where BLAS's own threading scales poorly).
            let rate = flop / (seconds / Double(Swift.min(shards, threads))) / 1e9
            var line = String(format: "conv_layers_gflops %.1f GFLOP/s (%.1f GFLOP in %.3f thread-seconds)",
                              rate, flop / 1e9, seconds)
            if let square {
                line += String(format: ", %.0f%% of square sgemm on %d threads, %.0f%% of %d × its one-thread rate",
                               100 * rate / square.all, threads, 100 * rate / (Double(threads) * square.one), threads)
            }
            print(line)
        }
        if let p = r.profile { printProfile(p, title: "training steps") }
        if let p = r.inferenceProfile { printProfile(p, title: "inference passes") }
    }

    /// --allreduce: rank 0 prints the median and quartiles of each way of summing the gradient.
    func runAllreduce() throws {
        let cluster: Cluster
        do {
            guard let started = try Cluster.start() else {
                throw RunFailure("--allreduce times a sum across ranks: run it as 'mpirun -np 2 vae bench --allreduce …'")
            }
            cluster = started
        } catch let failure as RunFailure { throw failure } catch { throw RunFailure("\(error)") }
        defer { cluster.finish() }
        let (config, name, fileBatch) = try benchedModel()
        let batch = self.batch ?? fileBatch
        let shards = self.shards ?? cluster.size
        guard shards >= cluster.size else {
            if cluster.rank == 0 { FileHandle.standardError.write(Data("Error: --shards \(shards) is fewer than the \(cluster.size) ranks\n".utf8)) }
            cluster.abort(1)
        }
        let t: AllreduceTimes
        do {
            let chosen = try PrecisionChoice.resolve(precision)
            t = try Benchmark.allreduce(config: config, batch: batch, shards: shards, repeats: steps, cluster: cluster,
                                        threads: threads, precision: chosen.precision, bucketFloats: buckets.floats)
        } catch {
            if cluster.rank == 0 { FileHandle.standardError.write(Data("Error: \(error)\n".utf8)) }
            cluster.abort(1)
        }
        guard cluster.rank == 0 else { return }
        let megabytes = Double(t.parameters * 4) / 1e6
        // A ring allreduce sends and receives 2(N − 1)/N of the data per rank: its bus bandwidth.
        let moved = 2 * Double(cluster.size - 1) / Double(cluster.size) * megabytes
        print(String(format: "allreduce %@: %d parameters (%.2f MB of fp32 gradient), %d ranks, %d shards, %d repeats",
                     name, t.parameters, megabytes, cluster.size, shards, steps))
        func quartiles(_ times: [Double]) -> (Double, Double, Double, Double) {
            let sorted = times.sorted(), q = { (f: Double) in sorted[Int(f * Double(sorted.count - 1))] }
            return (q(0.5), q(0.25), q(0.75), sorted[0])
        }
        for (label, times) in [("exchange", t.exchange), ("mpi_allreduce", t.allreduce)] + (t.byHand.map { [("by_hand", $0)] } ?? []) {
            let (median, low, high, least) = quartiles(times)
            print(String(format: "  %@ median %.2f ms (quartiles %.2f–%.2f, min %.2f), %.2f GB/s bus bandwidth at the median",
                         label.padding(toLength: 13, withPad: " ", startingAt: 0), 1e3 * median, 1e3 * low, 1e3 * high,
                         1e3 * least, moved / 1e3 / median))
        }
        print("training steps, batch \(batch), \(threads) threads a rank; overlapped in \(t.buckets.count) buckets of "
              + t.buckets.map { String(format: "%.2f", Double($0 * 4) / 1_048_576) }.joined(separator: ", ")
              + " MiB (from the top of the layout down), \(t.startedEarly) started during the backward pass")
        for (label, times) in [("step_after", t.stepAfter), ("step_overlap", t.stepOverlapped)] {
            let (median, low, high, least) = quartiles(times)
            print(String(format: "  %@ median %.2f ms (quartiles %.2f–%.2f, min %.2f), %.0f img/s at the median",
                         label.padding(toLength: 13, withPad: " ", startingAt: 0), 1e3 * median, 1e3 * low, 1e3 * high,
                         1e3 * least, Double(batch) / median))
        }
        let ratios = zip(t.stepAfter, t.stepOverlapped).map { $0 / $1 }
        print(String(format: "  overlap speed-up: median %.3f× over the %d pairs (after / overlapped, each pair timed back to back)",
                     quartiles(ratios).0, ratios.count))
    }

    /// The model to time, its name in the first line, and its batch size when --batch is not given:
    /// a model file's (the batch of the run whose config.json it is, else vae train's default 64),
    /// or a preset's in the plain or residual family.
    func benchedModel() throws -> (ModelConfig, String, Int) {
        if let model {
            do {
                return (try ModelChoice.read(file: model), model, ModelChoice.runBatch(file: model) ?? 64)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let preset = self.preset ?? "fmnist", arch = self.arch ?? .plain
        var choice = ModelChoice()
        (choice.preset, choice.architecture, choice.activation) = (preset, arch, arch.defaultActivation)
        let config = arch == .plain ? ModelConfig.presets[preset]! : try choice.config()
        return (config, arch == .plain ? preset : "\(preset) \(arch.rawValue)", ModelConfig.presetBatch[preset]!)
    }

    /// Each product of a step, the heaviest first, and the rate over all of them (total FLOP over
    /// total time, each shape weighted by how often a step runs it).
    func printLayerRates(_ rates: [GEMMShapeRate]) {
        var flop = 0.0, fp32Time = 0.0, bf16Time = 0.0, allBF16 = true
        print("layer products of one training step, one thread each (GFLOP/s; sgemm, then bf16 from f32 inputs):")
        for r in rates {
            let s = r.shape, f = s.flop * Double(r.count)
            flop += f
            fp32Time += f / (r.fp32 * 1e9)
            if let b = r.bf16 { bf16Time += f / (b * 1e9) } else { allBF16 = false }
            let name = "\(s.transA ? "T" : "N")\(s.transB ? "T" : "N") \(s.m)×\(s.n)×\(s.k)\(s.beta == 0 ? "" : " +=")"
            print(String(format: "  %@ ×%-3d sgemm %6.1f", name.padding(toLength: 24, withPad: " ", startingAt: 0),
                         r.count, r.fp32) + (r.bf16.map { String(format: "  bf16 %6.1f  (%.2f×)", $0, $0 / r.fp32) } ?? ""))
        }
        guard flop > 0 else { return }
        var line = String(format: "gemm_layer_shapes_gflops sgemm %.1f", flop / fp32Time / 1e9)
        if allBF16 && bf16Time > 0 {
            line += String(format: ", bf16 %.1f (%.2f×) GFLOP/s", flop / bf16Time / 1e9, fp32Time / bf16Time)
        }
        print(line + String(format: " over %.2f GFLOP a step", flop / 1e9))
    }

    func printProfile(_ p: Profiler, title: String) {
        let total = p.primitives.values.reduce(0, +)
        print("profile of the \(title): seconds summed over threads")
        for prim in Primitive.allCases {
            let t = p.primitives[prim] ?? 0
            let name = prim.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
            print(String(format: "  %@ %8.3f s %5.1f%%", name, t, 100 * t / Swift.max(total, 1e-12)))
        }
        for name in p.layerOrder {
            let padded = name.padding(toLength: 20, withPad: " ", startingAt: 0)
            print(String(format: "  %@ %8.3f s", padded, p.layers[name] ?? 0))
        }
    }
}
