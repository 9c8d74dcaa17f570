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
        let rate = { (x: Float) in String(format: "%g", x) }
        var advice = "Try a lower learning rate (now --lr \(rate(t.learningRate))), e.g. --lr \(rate(t.learningRate / 10))"
        if t.skipSpikes == nil {
            // What carried a 50-epoch emoji run past the step that ended it without (README, Results).
            advice += ", or leave out the updates of rare huge gradients: --skip-spikes \(Int(TrainOptions.defaultSkipSpikes))"
        }
        if t.clipNorm == nil {
            // A run usually dies of one step whose gradient is hundreds of times the usual: a
            // clip a few times above the usual norm stops it. The usual is the last finished
            // epoch's (the one under way holds the blow-up), else this epoch's so far.
            let usual = folder.metrics.read().last?.gradientNorm ?? loop.state.sums.meanGradientNorm
            advice += ", or clip the rare huge gradients: --clip-norm " + (usual.map { Self.clipSuggestion(usualNorm: $0) } ?? "100")
                + (usual.map { String(format: " (this run's gradient norm was about %.3g)", $0) } ?? "")
        }
        return advice + ", in a new run."
    }

    /// Five times the usual gradient norm, to two significant digits: above every ordinary step.
    static func clipSuggestion(usualNorm: Double) -> String {
        let target = 5 * usualNorm
        guard target.isFinite, target > 0 else { return "100" }
        let unit = pow(10, floor(log10(target)) - 1)
        let value = (target / unit).rounded(.up) * unit
        return String(format: value >= 1 ? "%.0f" : "%g", value)
    }

    func saveCheckpoint() throws { try folder.saveCheckpoint(config: config, trainer: trainer, state: loop.state) }

    public func trainingLoop(_ loop: TrainingLoop, didStep p: StepProgress) {
        var text = String(format: "epoch %@ %@ %d/%d loss %.2f (rec %.2f + kl %.2f) %.0f img/s ETA %@",
                          epochLabel(p.epoch + 1), ProgressLine.bar(p.batch, p.batches), p.batch, p.batches,
                          p.sums.meanLoss, p.sums.meanReconstruction, p.sums.meanKL, p.imagesPerSecond,
                          ProgressLine.duration(Double(p.imagesLeft) / p.imagesPerSecond))
        text += scheduledValues(learningRate: p.learningRate, beta: p.beta)
        if let left = p.secondsLeft { text += " (\(ProgressLine.duration(left)) left)" }
        let every = Swift.max(1, p.batches / 10)
        progress.update(text, force: p.batch % every == 0 && !progress.isTerminal)
    }

    public func trainingLoop(_ loop: TrainingLoop, skippedStep step: Int) {
        progress.finish()
        say("step \(step): the loss or its gradient is not finite; the update was skipped")
    }

    public func trainingLoop(_ loop: TrainingLoop, skippedSpike step: Int, norm: Double, usual: Double) {
        progress.finish()
        say(String(format: "step %d: gradient norm %.3g, %.0f× the usual %.3g; the update was skipped (--skip-spikes %g)",
                   step, norm, norm / usual, usual, config.training.skipSpikes ?? 0))
    }

    public func trainingLoop(_ loop: TrainingLoop, willStop reason: EarlyStop) throws {
        progress.finish()
        try saveCheckpoint()
        switch reason {
        case .interrupted:
            say("interrupted: checkpoint saved in \(folder.path) at epoch \(loop.state.epoch + 1), step "
                + "\(loop.state.batchInEpoch) of \(loop.stepsPerEpoch). Continue with: vae train --resume \(folder.path)"
                + " (or, to sample from this model as it is, fit its prior: vae fit-prior \(folder.path))")
        case let .nonFiniteSteps(count):
            say("stopping: \(count) steps in a row were not finite. The weights are the last good ones. " + lowerRateAdvice)
        case let .gradientSpikes(count):
            say(String(format: "stopping: %d steps in a row had gradient norms over %g× the usual (--skip-spikes), so none was applied. "
                       + "The weights are the last good ones. ", count, config.training.skipSpikes ?? 0) + lowerRateAdvice)
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
        if let mean = sums.meanGradientNorm {
            (metrics.gradientNorm, metrics.maxGradientNorm) = (mean, sums.maxGradientNorm)
            if config.training.clipNorm != nil { metrics.clippedSteps = sums.clippedSteps }
        }
        if config.training.skipSpikes != nil { metrics.spikeSteps = sums.spikeSteps }
        if validation.count > 0 {
            let v = viewer.evaluate(validation, k: 0, seed: config.training.seed)
            metrics.valNegELBO = v.negativeELBO
            metrics.valReconstruction = v.reconstruction
            metrics.valKL = v.kl
            metrics.valBitsPerDim = bitsPerDimension(v.negativeELBO)
        }
        if let s = loop.schedule {
            if s.variesLearningRate { metrics.learningRate = Double(trainer.adam.settings.learningRate) }
            if s.variesBeta { metrics.beta = Double(trainer.beta) }
        }
        try folder.metrics.append(metrics)
        try writePictures()
        try folder.writeReport(config: config, parameterCount: trainer.network.parameterCount, images: batches.dataset.count,
                               validationImages: validation.count, skippedFiles: batches.dataset.skipped.count)
        try saveCheckpoint()
        var line = String(format: "epoch %@  train -ELBO %.2f nats (%.4f bits/dim)", epochLabel(state.epoch),
                          metrics.trainNegELBO, metrics.trainBitsPerDim)
        if let v = metrics.valNegELBO, let bpd = metrics.valBitsPerDim {
            line += String(format: "  val -ELBO %.2f nats (%.4f bits/dim)", v, bpd)
        }
        line += String(format: "  %.0f img/s  %@", metrics.imagesPerSecond, ProgressLine.duration(state.trainSeconds))
        line += scheduledValues(learningRate: metrics.learningRate.map(Float.init), beta: metrics.beta.map(Float.init))
        if loop.timeLimitReached { line += "  (time limit reached)" }
        say(line)
        if !metrics.trainNegELBO.isFinite || metrics.valNegELBO.map({ !$0.isFinite }) == true {
            say("stopping: the model diverged (its -ELBO is no longer finite). " + lowerRateAdvice)
            return .diverged
        }
        return .goOn
    }

    /// The steps a time-limited cosine is laid over, now estimated, go into config.json at once.
    public func trainingLoop(_ loop: TrainingLoop, didEstimate schedule: LearningRateSchedule) throws {
        config.training.schedule = schedule
        try folder.writeConfig(config)
        if let total = schedule.totalSteps, let e = schedule.estimate {
            progress.finish()
            say("time limit \(DurationText.text(e.budget)): \(e.steps) steps took \(String(format: "%.1f", e.seconds)) s, "
                + "so the learning rate's cosine is laid over \(total) steps")
        }
    }

    /// "3/10", or "3" when only a time limit ends the run.
    func epochLabel(_ epoch: Int) -> String {
        config.training.epochs >= TrainOptions.noEpochCap ? "\(epoch)" : "\(epoch)/\(config.training.epochs)"
    }

    /// "  lr 8.12e-04  β 0.350" for the values that are scheduled.
    func scheduledValues(learningRate: Float?, beta: Float?) -> String {
        (learningRate.map { String(format: "  lr %.3g", $0) } ?? "") + (beta.map { String(format: "  β %.3g", $0) } ?? "")
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
