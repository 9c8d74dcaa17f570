// TrainingRun: the epoch loop: batches, progress, validation, checkpoints, pictures, metrics and report.
import Foundation
import ImageIO
import VAECore

/// One line of metrics.jsonl: an epoch's figures.
public struct EpochMetrics: Codable, Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var trainLoss: Double
    public var trainNegELBO: Double
    public var trainReconstruction: Double
    public var trainKL: Double
    public var valNegELBO: Double?
    public var valReconstruction: Double?
    public var valKL: Double?
    public var trainBitsPerDim: Double
    public var valBitsPerDim: Double?
    public var skippedSteps: Int
    public var imagesPerSecond: Double
    public var elapsedSeconds: Double
}

/// Set from the SIGINT handler; the loop checks it after every step.
nonisolated(unsafe) private var interruptRequested: sig_atomic_t = 0

public final class TrainingRun {
    public let folder: String
    public let config: RunConfig
    public let dataset: ImageDataset
    public let trainIndices: [Int]
    public let validationIndices: [Int]
    public let trainer: Trainer
    public var state: Checkpoint.State
    let viewer: Model
    let progress: ProgressLine
    /// Where ordinary messages go (stdout in the tool).
    let say: (String) -> Void

    public enum Outcome: Equatable { case finished, interrupted, diverged }

    /// Prepares a new run (state nil) or a resumed one, loading weights and state from `folder`.
    public init(folder: String, config: RunConfig, dataset: ImageDataset, threads: Int, resume: Bool,
                progress: ProgressLine = ProgressLine(), say: @escaping (String) -> Void = { print($0) }) throws {
        self.folder = folder
        self.config = config
        self.dataset = dataset
        self.progress = progress
        self.say = say
        let t = config.training
        (trainIndices, validationIndices) = Self.split(count: dataset.count, fraction: t.validationFraction, seed: t.seed)
        guard !trainIndices.isEmpty else { throw RunError.invalid("no images left to train on after the validation split") }
        let network = Network(config: config.model)
        var params: Buffer?, average: Buffer?
        if resume {
            // model.safetensors holds the average when averaging; the iterate comes with the
            // training state, loaded below into trainer.params.
            let saved = try Checkpoint.loadWeights(folder: folder, network: network)
            if (t.averageDecay ?? 0) > 0 {
                average = saved
                params = Buffer(count: network.parameterCount)
            } else {
                params = saved
            }
        }
        trainer = Trainer(network: network, batch: t.batch, seed: t.seed,
                          adam: AdamSettings(learningRate: t.learningRate), beta: t.beta, shards: t.shards,
                          threads: threads, params: params, averageDecay: t.averageDecay, average: average)
        trainer.clipNorm = t.clipNorm
        trainer.configureBLAS()
        state = Checkpoint.State()
        state.dataFingerprint = Self.fingerprint(dataset.paths)
        if resume {
            let saved = try Checkpoint.loadState(folder: folder, adam: trainer.adam,
                                                 iterate: trainer.average == nil ? nil : trainer.params)
            if saved.dataFingerprint != state.dataFingerprint {
                say("warning: the image folder changed since this run was saved; the data order will differ")
            }
            let fingerprint = state.dataFingerprint
            state = saved
            state.dataFingerprint = fingerprint
        }
        viewer = Model(network: network, params: trainer.average ?? trainer.params, threads: threads, chunk: 32)
    }

    /// A fixed split by the seed: `fraction` of the images (at least one when there are two or more) for validation.
    public static func split(count: Int, fraction: Double, seed: UInt64) -> (train: [Int], validation: [Int]) {
        guard fraction > 0, count >= 2 else { return (Array(0..<count), []) }
        var stream = RandomStream(seed: seed, purpose: .split)
        let order = stream.permutation(count)
        let n = Swift.min(count - 1, Swift.max(1, Int((Double(count) * fraction).rounded())))
        return (order[n...].sorted(), order[..<n].sorted())
    }

    static func fingerprint(_ paths: [String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a over the file names
        for p in paths { for b in p.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }; h = (h ^ 10) &* 0x100_0000_01b3 }
        return String(h, radix: 16) + "-\(paths.count)"
    }

    public var stepsPerEpoch: Int { (trainIndices.count + config.training.batch - 1) / config.training.batch }
    var bitsPerNat: Double { 1 / (Double(config.model.imageFloats) * log(2)) }

    /// Trains until `config.training.epochs` epochs are done, Ctrl-C is pressed, or the loss diverges.
    public func run() throws -> Outcome {
        let t = config.training, B = t.batch
        let batch = Buffer(count: B * config.model.imageFloats)
        interruptRequested = 0
        let previous = signal(SIGINT) { _ in interruptRequested = 1 }
        defer { signal(SIGINT, previous) }
        // A parent may have started us with SIGINT blocked (Foundation's Process does); unblock it.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        try trimMetrics(after: state.epoch)
        var badInARow = 0

        while state.epoch < t.epochs {
            let epoch = state.epoch
            var stream = RandomStream(seed: t.seed, purpose: .shuffle, detail: UInt64(epoch))
            let order = stream.permutation(trainIndices.count).map { trainIndices[$0] }
            let epochStart = Profiler.now()
            var imagesThisSession = 0
            var skipped = Int(state.sums[4])
            while state.batchInEpoch < stepsPerEpoch {
                let lo = state.batchInEpoch * B, hi = Swift.min(order.count, lo + B)
                dataset.gather(order[lo..<hi], into: batch.pointer)
                let r = trainer.step(batch.pointer, count: hi - lo, noiseIndex: UInt64(state.step))
                state.step += 1
                state.batchInEpoch += 1
                if r.applied {
                    badInARow = 0
                    let n = Double(hi - lo)
                    state.sums[0] += r.loss * n
                    state.sums[1] += r.reconstruction * n
                    state.sums[2] += r.kl * n
                    state.sums[3] += n
                } else {
                    badInARow += 1
                    skipped += 1
                    state.sums[4] = Double(skipped)
                    progress.finish()
                    say("step \(state.step): the loss or its gradient is not finite; the update was skipped")
                    if badInARow >= t.maxBadSteps {
                        say("stopping: \(badInARow) steps in a row were not finite. The weights are the last good ones. "
                            + lowerRateAdvice)
                        try save()
                        return .diverged
                    }
                }
                imagesThisSession += hi - lo
                let seconds = Profiler.now() - epochStart
                let rate = Double(imagesThisSession) / Swift.max(seconds, 1e-9)
                let seen = Swift.max(1, state.sums[3])
                let text = String(format: "epoch %d/%d %@ %d/%d loss %.2f (rec %.2f + kl %.2f) %.0f img/s ETA %@",
                                  epoch + 1, t.epochs, ProgressLine.bar(state.batchInEpoch, stepsPerEpoch),
                                  state.batchInEpoch, stepsPerEpoch, state.sums[0] / seen, state.sums[1] / seen,
                                  state.sums[2] / seen, rate,
                                  ProgressLine.duration(Double(order.count - hi) / rate))
                let every = Swift.max(1, stepsPerEpoch / 10)
                progress.update(text, force: state.batchInEpoch % every == 0 && !progress.isTerminal)
                if interruptRequested != 0 {
                    progress.finish()
                    state.trainSeconds += seconds
                    try save()
                    say("interrupted: checkpoint saved in \(folder) at epoch \(epoch + 1), step \(state.batchInEpoch) of "
                        + "\(stepsPerEpoch). Continue with: vae train --resume \(folder)")
                    return .interrupted
                }
            }
            progress.finish()
            let seconds = Profiler.now() - epochStart
            state.trainSeconds += seconds
            let metrics = try finishEpoch(epoch: epoch + 1, skipped: skipped,
                                          rate: Double(imagesThisSession) / Swift.max(seconds, 1e-9))
            var line = String(format: "epoch %d/%d  train -ELBO %.2f nats (%.4f bits/dim)", epoch + 1, t.epochs,
                              metrics.trainNegELBO, metrics.trainBitsPerDim)
            if let v = metrics.valNegELBO, let bpd = metrics.valBitsPerDim {
                line += String(format: "  val -ELBO %.2f nats (%.4f bits/dim)", v, bpd)
            }
            line += String(format: "  %.0f img/s  %@", metrics.imagesPerSecond, ProgressLine.duration(state.trainSeconds))
            say(line)
            if !metrics.trainNegELBO.isFinite || metrics.valNegELBO.map({ !$0.isFinite }) == true {
                say("stopping: the model diverged (its -ELBO is no longer finite). " + lowerRateAdvice)
                return .diverged
            }
        }
        return .finished
    }

    var lowerRateAdvice: String {
        let t = config.training
        return "Try a lower learning rate (now --lr \(t.learningRate)), e.g. --lr \(t.learningRate / 10)"
            + (t.clipNorm == nil ? ", or --clip-norm 100" : "") + ", in a new run."
    }

    /// Validation, checkpoint, pictures, metrics line and report at the end of an epoch.
    func finishEpoch(epoch: Int, skipped: Int, rate: Double) throws -> EpochMetrics {
        // No applied step this epoch: there is no training figure to give.
        let count = state.sums[3] > 0 ? state.sums[3] : .nan
        let trainRecon = state.sums[1] / count, trainKL = state.sums[2] / count
        var metrics = EpochMetrics(epoch: epoch, step: state.step, trainLoss: state.sums[0] / count,
                                   trainNegELBO: trainRecon + trainKL, trainReconstruction: trainRecon, trainKL: trainKL,
                                   trainBitsPerDim: (trainRecon + trainKL) * bitsPerNat, skippedSteps: skipped,
                                   imagesPerSecond: rate, elapsedSeconds: state.trainSeconds)
        if !validationIndices.isEmpty {
            let v = viewer.evaluate(dataset.subset(validationIndices), k: 0, seed: config.training.seed)
            metrics.valNegELBO = v.negativeELBO
            metrics.valReconstruction = v.reconstruction
            metrics.valKL = v.kl
            metrics.valBitsPerDim = v.negativeELBO * bitsPerNat
        }
        state.epoch = epoch
        state.batchInEpoch = 0
        state.sums = [0, 0, 0, 0, 0]
        try save()
        try writePictures()
        try appendMetrics(metrics)
        try Report.write(folder: folder, config: config, metrics: readMetrics(), parameterCount: trainer.network.parameterCount,
                         images: dataset.count, validationImages: validationIndices.count, skippedFiles: dataset.skipped.count)
        return metrics
    }

    func save() throws {
        try Checkpoint.save(folder: folder, config: config, network: trainer.network, params: trainer.params,
                            average: trainer.average, adam: trainer.adam, state: state)
    }

    /// reconstructions.png (fixed validation images above their reconstructions) and samples.png
    /// (a fixed set of prior samples), so epochs can be compared.
    func writePictures() throws {
        let scale = viewingScale(for: config.model.size)
        // Sixteen images spread evenly over the held-out set (sorted by path, so this spans its folders).
        let pool = validationIndices.isEmpty ? trainIndices : validationIndices
        let shown = (0..<Swift.min(16, pool.count)).map { pool[$0 * pool.count / Swift.min(16, pool.count)] }
        let inputs = shown.map { dataset.image($0) }
        try viewer.reconstructionSheet(inputs, columns: 8, scale: scale).writePNG(to: folder + "/reconstructions.png")
        let samples = viewer.samples(count: 64, seed: config.training.seed)
        try Image.grid(samples.map { $0.upscaled(by: scale) }, columns: 8).writePNG(to: folder + "/samples.png")
    }

    var metricsPath: String { folder + "/metrics.jsonl" }

    /// JSON for metrics lines; a diverging model can give NaN or infinite losses, written as strings.
    static var metricsEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static var metricsDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    func appendMetrics(_ m: EpochMetrics) throws {
        let encoder = Self.metricsEncoder
        var text = (try? String(contentsOfFile: metricsPath, encoding: .utf8)) ?? ""
        text += String(decoding: try encoder.encode(m), as: UTF8.self) + "\n"
        try AtomicFile.write(text, to: metricsPath)
    }

    public func readMetrics() -> [EpochMetrics] { Self.readMetrics(folder: folder) }

    public static func readMetrics(folder: String) -> [EpochMetrics] {
        guard let text = try? String(contentsOfFile: folder + "/metrics.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? metricsDecoder.decode(EpochMetrics.self, from: Data($0.utf8)) }
    }

    /// Drops metrics lines past the checkpoint's epoch (written before a crash the checkpoint did not survive).
    func trimMetrics(after epoch: Int) throws {
        let kept = readMetrics().filter { $0.epoch <= epoch }
        guard FileManager.default.fileExists(atPath: metricsPath) else { return }
        let encoder = Self.metricsEncoder
        let text = try kept.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        try AtomicFile.write(text, to: metricsPath)
    }
}

extension ImageDataset {
    /// A view of some of the images (copies their bytes).
    public func subset(_ indices: [Int]) -> ImageDataset {
        ImageDataset(preparation: preparation, paths: indices.map { paths[$0] },
                     bytes: indices.flatMap { bytes[($0 * imageFloats)..<(($0 + 1) * imageFloats)] })
    }
}
