// LearningRateSchedule: the learning rate as a function of the step: a linear warm-up, then constant or a half cosine to zero.
import Foundation

public struct LearningRateSchedule: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case constant, cosine }

    public var kind: Kind
    /// Steps of the linear warm-up: step s (0-based) of them runs at (s + 1)/warmupSteps of the
    /// peak, so no step is wasted at zero. nil until a new run settles its default (resolved()).
    public var warmupSteps: Int?
    /// Steps the cosine is laid over, warm-up included: step s ≥ warmupSteps runs at
    /// ½(1 + cos(π · (s − warmupSteps) / (totalSteps − warmupSteps))) of the peak, reaching zero at
    /// totalSteps. nil for constant schedules, and for a time-limited run until its warm-up has
    /// measured the pace (then `estimate` says how it was found).
    public var totalSteps: Int?
    /// How a time-limited run estimated totalSteps.
    public var estimate: StepEstimate?

    public init(kind: Kind = .constant, warmupSteps: Int? = 0, totalSteps: Int? = nil, estimate: StepEstimate? = nil) {
        (self.kind, self.warmupSteps, self.totalSteps, self.estimate) = (kind, warmupSteps, totalSteps, estimate)
    }

    /// The warm-up a run gets when none is asked for: none for a constant rate; for the cosine
    /// 100 steps, at most a tenth of the run's steps when that is known.
    public static func defaultWarmup(kind: Kind, totalSteps: Int?) -> Int {
        guard kind == .cosine else { return 0 }
        return Swift.min(100, totalSteps.map { Swift.max(1, $0 / 10) } ?? 100)
    }

    /// A time-limited cosine run estimates its total steps after the warm-up, from the warm-up's
    /// pace: it needs at least this many steps to time.
    public static let minimumTimedWarmup = 10

    /// The multiplier of the peak learning rate for step `step` (0-based: the step about to be taken).
    public func factor(atStep step: Int) -> Double {
        let warmup = warmupSteps ?? 0
        if step < warmup { return Double(step + 1) / Double(warmup) }
        guard kind == .cosine, let total = totalSteps, total > warmup else { return 1 }
        let progress = Swift.min(1, Double(step - warmup) / Double(total - warmup))
        return 0.5 * (1 + cos(Double.pi * progress))
    }

    /// Whether the rate moves at all (a warm-up or a cosine).
    public var varies: Bool { kind == .cosine || (warmupSteps ?? 0) > 0 }
}

/// How a time-limited run turned its budget into a step count: after `steps` steps (the warm-up)
/// had taken `seconds` of training time, the run is expected to take
/// totalSteps = steps + ⌊(budget − seconds) · steps / seconds⌋ steps in `budget` seconds.
/// Kept in config.json, so a resumed run continues the same schedule instead of re-estimating.
public struct StepEstimate: Codable, Sendable, Equatable {
    public var steps: Int
    public var seconds: Double
    public var budget: Double

    public init(steps: Int, seconds: Double, budget: Double) { (self.steps, self.seconds, self.budget) = (steps, seconds, budget) }

    /// The steps expected in the whole budget at the measured pace (at least one more than measured,
    /// at most a billion).
    public var totalSteps: Int {
        let rate = Double(steps) / Swift.max(seconds, 1e-9)
        let more = Swift.min(1e9, Swift.max(1, ((budget - seconds) * rate).rounded(.down)))
        return steps + Int(more)
    }
}
