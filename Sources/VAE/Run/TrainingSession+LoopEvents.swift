// TrainingSession+LoopEvents: the session as the loop's delegate: progress, messages, and what each epoch leaves in the run folder.
import Foundation
import ImageIO

extension TrainingSession: TrainingLoopDelegate {
    /// Of the 8-bit data under the logistic and (dequantised) Gaussian likelihoods; Bernoulli's cross-entropy per dimension.
    func bitsPerDimension(_ nats: Double) -> Double {
        config.model.likelihood.bitsPerDimension(nats: nats, dimensions: config.model.imageFloats)
    }

    var lowerRateAdvice: String {
        let t = config.training
        return "Try a lower learning rate (now --lr \(t.learningRate)), e.g. --lr \(t.learningRate / 10)"
            + (t.clipNorm == nil ? ", or --clip-norm 100" : "") + ", in a new run."
    }

    func saveCheckpoint() throws { try folder.saveCheckpoint(config: config, trainer: trainer, state: loop.state) }

    public func trainingLoop(_ loop: TrainingLoop, didStep p: StepProgress) {
        let text = String(format: "epoch %d/%d %@ %d/%d loss %.2f (rec %.2f + kl %.2f) %.0f img/s ETA %@",
                          p.epoch + 1, p.epochs, ProgressLine.bar(p.batch, p.batches), p.batch, p.batches,
                          p.sums.meanLoss, p.sums.meanReconstruction, p.sums.meanKL, p.imagesPerSecond,
                          ProgressLine.duration(Double(p.imagesLeft) / p.imagesPerSecond))
        let every = Swift.max(1, p.batches / 10)
        progress.update(text, force: p.batch % every == 0 && !progress.isTerminal)
    }

    public func trainingLoop(_ loop: TrainingLoop, skippedStep step: Int) {
        progress.finish()
        say("step \(step): the loss or its gradient is not finite; the update was skipped")
    }

    public func trainingLoop(_ loop: TrainingLoop, willStop reason: EarlyStop) throws {
        progress.finish()
        try saveCheckpoint()
        switch reason {
        case .interrupted:
            say("interrupted: checkpoint saved in \(folder.path) at epoch \(loop.state.epoch + 1), step "
                + "\(loop.state.batchInEpoch) of \(loop.stepsPerEpoch). Continue with: vae train --resume \(folder.path)")
        case let .nonFiniteSteps(count):
            say("stopping: \(count) steps in a row were not finite. The weights are the last good ones. " + lowerRateAdvice)
        }
    }

    /// Validation, then the metrics line, pictures and report, and the checkpoint last: the
    /// checkpoint is what says the epoch is done, so a run stopped before it redoes the epoch
    /// and writes all of these again.
    public func trainingLoop(_ loop: TrainingLoop, didFinishEpoch sums: EpochSums, imagesPerSecond: Double) throws -> EpochVerdict {
        progress.finish()
        let state = loop.state
        let trainNegELBO = sums.meanReconstruction + sums.meanKL
        var metrics = EpochMetrics(epoch: state.epoch, step: state.step, trainLoss: sums.meanLoss, trainNegELBO: trainNegELBO,
                                   trainReconstruction: sums.meanReconstruction, trainKL: sums.meanKL,
                                   trainBitsPerDim: bitsPerDimension(trainNegELBO), skippedSteps: sums.skippedSteps,
                                   imagesPerSecond: imagesPerSecond, elapsedSeconds: state.trainSeconds)
        if validation.count > 0 {
            let v = viewer.evaluate(validation, k: 0, seed: config.training.seed)
            metrics.valNegELBO = v.negativeELBO
            metrics.valReconstruction = v.reconstruction
            metrics.valKL = v.kl
            metrics.valBitsPerDim = bitsPerDimension(v.negativeELBO)
        }
        try folder.metrics.append(metrics)
        try writePictures()
        try folder.writeReport(config: config, parameterCount: trainer.network.parameterCount, images: batches.dataset.count,
                               validationImages: validation.count, skippedFiles: batches.dataset.skipped.count)
        try saveCheckpoint()
        var line = String(format: "epoch %d/%d  train -ELBO %.2f nats (%.4f bits/dim)", state.epoch, config.training.epochs,
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
        return .goOn
    }

    /// reconstructions.png (fixed held-out images above their reconstructions) and samples.png
    /// (a fixed set of prior samples), so epochs can be compared.
    func writePictures() throws {
        let scale = viewingScale(for: config.model.size)
        let sheet = viewer.reconstructionSheet(batches.shownImages(), columns: 8, scale: scale)
        let samples = viewer.samples(count: 64, seed: config.training.seed)
        try folder.writePictures(reconstructions: sheet, samples: Image.grid(samples.map { $0.upscaled(by: scale) }, columns: 8))
    }
}
