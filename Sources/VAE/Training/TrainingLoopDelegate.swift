// TrainingLoopDelegate: what the training loop tells the code around it (progress, epoch ends, early stops).

/// Where the loop stands after a step, for a progress line.
public struct StepProgress: Sendable {
    /// The epoch under way (0-based) and the total to reach.
    public var epoch: Int
    public var epochs: Int
    /// Batches done in this epoch, of `batches`.
    public var batch: Int
    public var batches: Int
    /// Running means over the epoch's applied steps, in nats per image.
    public var sums: EpochSums
    /// Images trained on since this process started the epoch, per second.
    public var imagesPerSecond: Double
    /// Images left in the epoch.
    public var imagesLeft: Int
    /// The step's learning rate and KL weight when they are scheduled (nil when fixed).
    public var learningRate: Float? = nil
    public var beta: Float? = nil
    /// Training seconds left in a time-limited run's budget.
    public var secondsLeft: Double? = nil
}

/// Why the loop stopped before the last epoch.
public enum EarlyStop: Sendable, Equatable {
    /// The stop request (Ctrl-C) was seen after a step.
    case interrupted
    /// This many steps in a row had a loss or gradient that was not finite.
    case nonFiniteSteps(Int)
    /// This many steps in a row had a gradient norm --skip-spikes left out: not a spike, a run
    /// whose gradients have changed (or gone bad) for good.
    case gradientSpikes(Int)
}

/// Epoch ends decide whether training goes on: a validation figure that is no longer finite stops it.
public enum EpochVerdict: Sendable { case goOn, diverged }

public protocol TrainingLoopDelegate: AnyObject {
    /// After every step.
    func trainingLoop(_ loop: TrainingLoop, didStep progress: StepProgress)
    /// Step `step` (1-based) was skipped: its loss or gradient was not finite.
    func trainingLoop(_ loop: TrainingLoop, skippedStep step: Int)
    /// Step `step` (1-based) was not applied: its gradient norm was `norm`, over the limit
    /// (SpikeGuard's factor × the usual norm, `usual`).
    func trainingLoop(_ loop: TrainingLoop, skippedSpike step: Int, norm: Double, usual: Double)
    /// The end of epoch `loop.state.epoch` (1-based now: the state already points at the next
    /// one, with its sums cleared), with the finished epoch's sums. The place to validate and
    /// save a checkpoint.
    func trainingLoop(_ loop: TrainingLoop, didFinishEpoch sums: EpochSums, imagesPerSecond: Double) throws -> EpochVerdict
    /// The loop stops mid-epoch; its state is the last step's: the place to save a checkpoint.
    func trainingLoop(_ loop: TrainingLoop, willStop reason: EarlyStop) throws
    /// A time-limited run has fixed the steps its learning rate schedule is laid over (after its
    /// warm-up): the place to save the schedule, so that a resumed run continues it.
    func trainingLoop(_ loop: TrainingLoop, didEstimate schedule: LearningRateSchedule) throws
}

extension TrainingLoopDelegate {
    public func trainingLoop(_ loop: TrainingLoop, didEstimate schedule: LearningRateSchedule) throws {}
    public func trainingLoop(_ loop: TrainingLoop, skippedSpike step: Int, norm: Double, usual: Double) {}
}
