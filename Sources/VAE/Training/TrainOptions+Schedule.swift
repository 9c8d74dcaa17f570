// TrainOptions+Schedule: the run's settings for schedules, free bits, flips and the time budget, as the training loop takes them.

extension TrainOptions {
    /// The epochs of a time-limited run given no --epochs: the budget alone ends it.
    public static let noEpochCap = 1_000_000
    /// The most steps a schedule is laid over (beyond any run's reach).
    static let maxSteps = 1_000_000_000_000

    public var klWarmup: Int { klWarmupSteps ?? 0 }
    public var flips: Bool { flip ?? false }
    public var learningRateSchedule: LearningRateSchedule { schedule ?? LearningRateSchedule() }
    /// --schedule and --warmup-steps as they were given (a constant rate without warm-up when absent).
    public var scheduleKind: LearningRateSchedule.Kind { learningRateSchedule.kind }
    public var warmupSteps: Int { learningRateSchedule.warmupSteps ?? 0 }

    /// What the training loop sets before each step; nil when nothing moves and no budget applies,
    /// so the trainer keeps its own learning rate and β (as runs before schedules did).
    public var trainingSchedule: TrainingSchedule? {
        let rate = learningRateSchedule
        guard rate.varies || klWarmup > 0 || timeLimit != nil else { return nil }
        return TrainingSchedule(peakLearningRate: learningRate, learningRate: rate, beta: beta, klWarmupSteps: klWarmup,
                                timeLimit: timeLimit)
    }

    /// The schedule settled once the run's steps per epoch are known: the default warm-up, and for
    /// a cosine over epochs its total steps (a time-limited run estimates them later, from its pace).
    public func resolved(stepsPerEpoch: Int) -> TrainOptions {
        guard var rate = schedule else { return self }
        let product = epochs.multipliedReportingOverflow(by: stepsPerEpoch)
        let total = timeLimit == nil ? (product.overflow ? Self.maxSteps : Swift.min(product.partialValue, Self.maxSteps)) : nil
        if rate.warmupSteps == nil { rate.warmupSteps = LearningRateSchedule.defaultWarmup(kind: rate.kind, totalSteps: total) }
        if rate.kind == .cosine && rate.totalSteps == nil { rate.totalSteps = total }
        var options = self
        options.schedule = rate
        return options
    }

    /// The first of these settings out of bounds, named as in config.json, or nil.
    var scheduleProblem: String? {
        if let klWarmupSteps, !(0...1_000_000_000).contains(klWarmupSteps) {
            return "training.klWarmupSteps \(klWarmupSteps) is out of range (0–1,000,000,000)"
        }
        if let freeBits, !(freeBits.isFinite && freeBits >= 0) { return "training.freeBits \(freeBits) must be zero or positive" }
        if let schedule {
            if let w = schedule.warmupSteps, !(0...1_000_000_000).contains(w) {
                return "training.schedule.warmupSteps \(w) is out of range (0–1,000,000,000)"
            }
            if let t = schedule.totalSteps, !(1...Self.maxSteps).contains(t) {
                return "training.schedule.totalSteps \(t) is out of range (1–\(Self.maxSteps))"
            }
        }
        if let timeLimit, !(timeLimit.isFinite && timeLimit > 0) { return "training.timeLimit \(timeLimit) must be a positive number of seconds" }
        return nil
    }
}

extension TrainOptions {
    /// "10 epochs", or "time limit 8m" (", at most 30 epochs" when --epochs caps it too).
    public var lengthSummary: String {
        guard let timeLimit else { return "\(epochs) epochs" }
        return "time limit \(DurationText.text(timeLimit))" + (epochs < Self.noEpochCap ? ", at most \(epochs) epochs" : "")
    }

    /// "of 10" (epochs), or "in a time limit of 8m", for the report.
    public var reportLength: String { timeLimit.map { "in a time limit of \(DurationText.text($0))" } ?? "of \(epochs)" }

    /// ", cosine learning rate (warm-up 100 steps), KL warm-up 500 steps, free bits 0.25 nats, flips": what is on, or "".
    public var scheduleSummary: String {
        let rate = learningRateSchedule
        var parts: [String] = []
        if rate.kind == .cosine {
            parts.append("cosine learning rate (warm-up \(steps(warmupSteps))"
                         + (rate.totalSteps.map { ", over \(steps($0))" } ?? "") + ")")
        } else if warmupSteps > 0 {
            parts.append("learning rate warm-up \(steps(warmupSteps))")
        }
        if klWarmup > 0 { parts.append("KL warm-up \(steps(klWarmup))") }
        if let freeBits { parts.append("free bits \(freeBits) nats") }
        if flips { parts.append("flips") }
        return parts.map { ", " + $0 }.joined()
    }

    func steps(_ n: Int) -> String { n == 1 ? "1 step" : "\(n) steps" }
}
