// TrainingLoop: epochs of steps over a BatchSource, with running sums and early stops; it knows nothing of files.
import VAECore

public final class TrainingLoop {
    public let trainer: Trainer
    public let source: BatchSource
    public let batchSize: Int
    /// The total of epochs to reach.
    public let epochs: Int
    /// Non-finite steps in a row after which training stops.
    public let maxBadSteps: Int
    public var state: TrainingState
    public weak var delegate: TrainingLoopDelegate?
    /// Asked after every step; true stops the loop (with `willStop(.interrupted)`).
    public var stopRequested: () -> Bool = { false }
    /// The learning rate and KL weight set before each step, and the time budget; nil leaves the
    /// trainer's own settings untouched.
    public var schedule: TrainingSchedule?
    /// Leaves out the update of a step whose gradient norm is many times the usual (--skip-spikes); nil applies every finite step.
    public var spikeGuard: SpikeGuard?
    /// Steps in a row the guard may leave out before the run stops: a spike is a step or two,
    /// while this many mean the gradients have changed for good, and judging them by the old
    /// norm would stall the run.
    public var maxSpikesInARow = TrainingLoop.defaultMaxSpikesInARow
    public static let defaultMaxSpikesInARow = 50
    /// Seconds, for the time budget and the rates (a test may count steps instead).
    public var clock: () -> Double = Profiler.now
    /// Set when the time budget (or the step count estimated for it) ended the run.
    public private(set) var timeLimitReached = false

    public enum Outcome: Sendable, Equatable { case finished, interrupted, diverged }

    public init(trainer: Trainer, source: BatchSource, batchSize: Int, epochs: Int, maxBadSteps: Int = 3,
                state: TrainingState = TrainingState()) {
        (self.trainer, self.source, self.batchSize, self.epochs, self.maxBadSteps, self.state) =
            (trainer, source, batchSize, epochs, maxBadSteps, state)
    }

    public var stepsPerEpoch: Int { source.batchesPerEpoch(batchSize: batchSize) }

    /// Whether there is nothing left to train: every epoch done, or the time budget spent.
    public var isComplete: Bool { state.epoch >= epochs || budgetSpent(seconds: state.trainSeconds) }

    /// Trains from `state` until `epochs` epochs are done, the time budget is spent, a stop is
    /// requested, or the loss diverges.
    public func run() throws -> Outcome {
        let batch = Buffer(count: batchSize * source.imageFloats)
        var badInARow = 0, spikesInARow = 0
        while !isComplete {
            let epoch = state.epoch, steps = stepsPerEpoch
            source.beginEpoch(epoch, batchSize: batchSize, from: state.batchInEpoch)
            let epochStart = clock()
            var imagesThisSession = 0
            while state.batchInEpoch < steps {
                let count = source.nextBatch(into: batch.pointer)
                // A source that runs dry before its count (a streamed folder that shrank) ends the epoch.
                guard count > 0 else { break }
                if let schedule {
                    trainer.adam.settings.learningRate = schedule.learningRate(atStep: state.step)
                    trainer.beta = schedule.beta(atStep: state.step)
                }
                trainer.skipAboveNorm = spikeGuard?.limit(state.spikes)
                let result = trainer.step(batch.pointer, count: count, noiseIndex: UInt64(state.step))
                state.step += 1
                state.batchInEpoch += 1
                imagesThisSession += count
                if result.applied {
                    (badInARow, spikesInARow) = (0, 0)
                    state.sums.add(result, count: count)
                    if spikeGuard != nil { SpikeGuard.record(result.gradientNorm, into: &state.spikes) }
                } else if result.spike {
                    badInARow = 0
                    spikesInARow += 1
                    state.sums.spikeSteps += 1
                    delegate?.trainingLoop(self, skippedSpike: state.step, norm: result.gradientNorm, usual: state.spikes.usualNorm ?? 0)
                    if spikesInARow >= maxSpikesInARow {
                        state.trainSeconds += clock() - epochStart
                        try delegate?.trainingLoop(self, willStop: .gradientSpikes(spikesInARow))
                        return .diverged
                    }
                } else {
                    badInARow += 1
                    state.sums.skippedSteps += 1
                    delegate?.trainingLoop(self, skippedStep: state.step)
                    if badInARow >= maxBadSteps {
                        state.trainSeconds += clock() - epochStart
                        try delegate?.trainingLoop(self, willStop: .nonFiniteSteps(badInARow))
                        return .diverged
                    }
                }
                let seconds = clock() - epochStart
                try estimateTotalSteps(seconds: state.trainSeconds + seconds)
                let rate = Double(imagesThisSession) / Swift.max(seconds, 1e-9)
                delegate?.trainingLoop(self, didStep: StepProgress(
                    epoch: epoch, epochs: epochs, batch: state.batchInEpoch, batches: steps, sums: state.sums,
                    imagesPerSecond: rate, imagesLeft: Swift.max(0, source.imagesPerEpoch - state.batchInEpoch * batchSize),
                    learningRate: schedule?.variesLearningRate == true ? trainer.adam.settings.learningRate : nil,
                    beta: schedule?.variesBeta == true ? trainer.beta : nil,
                    secondsLeft: schedule?.timeLimit.map { Swift.max(0, $0 - state.trainSeconds - seconds) }))
                if stopRequested() {
                    state.trainSeconds += seconds
                    try delegate?.trainingLoop(self, willStop: .interrupted)
                    return .interrupted
                }
                // A budget spent mid-epoch ends the run with a short last epoch, finished as any other.
                if budgetSpent(seconds: state.trainSeconds + seconds) { break }
            }
            let seconds = clock() - epochStart
            state.trainSeconds += seconds
            timeLimitReached = budgetSpent(seconds: state.trainSeconds)
            let sums = state.sums
            state.epoch = epoch + 1
            state.batchInEpoch = 0
            state.sums = EpochSums()
            let verdict = try delegate?.trainingLoop(self, didFinishEpoch: sums,
                                                     imagesPerSecond: Double(imagesThisSession) / Swift.max(seconds, 1e-9))
            if verdict == .diverged || !(sums.meanReconstruction + sums.meanKL).isFinite { return .diverged }
        }
        return .finished
    }

    /// Whether a time-limited run has used its budget after `seconds` of training in all, or taken
    /// the steps its schedule was laid over.
    func budgetSpent(seconds: Double) -> Bool {
        guard let schedule, let limit = schedule.timeLimit else { return false }
        return seconds >= limit || schedule.learningRate.totalSteps.map { state.step >= $0 } == true
    }

    /// A time-limited cosine run fixes its total steps once its warm-up is done, from the pace of
    /// the training so far (StepEstimate), and tells the delegate, which saves it.
    func estimateTotalSteps(seconds: Double) throws {
        guard var schedule, let limit = schedule.timeLimit, schedule.learningRate.kind == .cosine,
              schedule.learningRate.totalSteps == nil, state.step >= (schedule.learningRate.warmupSteps ?? 0) else { return }
        let estimate = StepEstimate(steps: state.step, seconds: seconds, budget: limit)
        let cap = epochs.multipliedReportingOverflow(by: stepsPerEpoch)
        schedule.learningRate.totalSteps = cap.overflow ? estimate.totalSteps : Swift.min(estimate.totalSteps, cap.partialValue)
        schedule.learningRate.estimate = estimate
        self.schedule = schedule
        try delegate?.trainingLoop(self, didEstimate: schedule.learningRate)
    }
}
