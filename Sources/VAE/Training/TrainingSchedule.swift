// TrainingSchedule: what the training loop sets before each step (learning rate, KL weight) and the time budget that may end a run.

/// Everything here is a function of the step number (and, for a time-limited run, of a total
/// step count fixed once and saved), so a resumed run takes exactly the steps it would have taken.
public struct TrainingSchedule: Sendable, Equatable {
    /// The learning rate the schedule scales (--lr).
    public var peakLearningRate: Float
    public var learningRate: LearningRateSchedule
    /// The KL weight reached after the warm-up (--beta).
    public var beta: Float
    /// β ramps linearly from 0 over this many steps (--kl-warmup); 0 for none.
    public var klWarmupSteps: Int
    /// Seconds of training steps (the training time the epoch lines show) after which the run
    /// ends (--time-limit); nil for none.
    public var timeLimit: Double?

    public init(peakLearningRate: Float, learningRate: LearningRateSchedule = LearningRateSchedule(), beta: Float = 1,
                klWarmupSteps: Int = 0, timeLimit: Double? = nil) {
        (self.peakLearningRate, self.learningRate, self.beta, self.klWarmupSteps, self.timeLimit) =
            (peakLearningRate, learningRate, beta, klWarmupSteps, timeLimit)
    }

    /// The learning rate of step `step` (0-based). Exactly the peak where the schedule is flat.
    public func learningRate(atStep step: Int) -> Float {
        let factor = learningRate.factor(atStep: step)
        return factor == 1 ? peakLearningRate : Float(Double(peakLearningRate) * factor)
    }

    /// The KL weight of step `step` (0-based): β · step / klWarmupSteps during the warm-up (0 at
    /// the first step), β from step klWarmupSteps on.
    public func beta(atStep step: Int) -> Float {
        guard klWarmupSteps > 0, step < klWarmupSteps else { return beta }
        return Float(Double(beta) * Double(step) / Double(klWarmupSteps))
    }

    /// Whether the learning rate or β change from step to step (the lines then show them).
    public var variesLearningRate: Bool { learningRate.varies }
    public var variesBeta: Bool { klWarmupSteps > 0 }
}
