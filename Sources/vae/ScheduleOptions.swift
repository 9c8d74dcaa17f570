// ScheduleOptions: vae train's flags for the learning rate schedule, KL warm-up, free bits, flips and the time limit.
import ArgumentParser
import VAE

struct ScheduleOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Learning rate schedule: constant (the default) or cosine (decays to zero over the run, after a linear warm-up).",
                               discussion: "The cosine is laid over the run's steps: --epochs × the steps per epoch, or with --time-limit the steps the budget is expected to hold, estimated from the warm-up's pace and saved in config.json."))
    var schedule: LearningRateSchedule.Kind?

    @Option(help: ArgumentHelp("Steps of linear learning rate warm-up, from lr/N to lr (default: none for constant; for cosine 100, at most a tenth of the run).",
                               valueName: "steps"))
    var warmupSteps: Int?

    @Option(help: ArgumentHelp("KL warm-up: β rises linearly from 0 to --beta over this many steps (default: 2000 for colour images' defaults, else 0: none).", valueName: "steps"))
    var klWarmup: Int?

    @Option(help: ArgumentHelp("Free bits: each latent dimension's KL, averaged over the batch, counts as at least this many nats (default 0: none).",
                               discussion: "As Kingma et al. 2016 (IAF): the term is Σ_j max(λ, KL_j) with KL_j the batch mean for dimension j; a dimension below λ gets no KL gradient. Training figures (−ELBO) stay the true KL; the optimised loss uses the floor.",
                               valueName: "nats"))
    var freeBits: Float?

    @Flag(help: "Mirror each training image left to right with probability ½ (fixed by the seed, epoch and the image's place).")
    var flip = false

    @Option(help: ArgumentHelp("Train for this much time instead of a number of epochs, e.g. 228s, 8m or 1h30m; then finish as usual.",
                               discussion: "The budget counts training steps (the time the epoch lines show); validation, pictures and checkpoints come on top. With --epochs as well, whichever comes first ends the run. With --schedule cosine the run stops once the estimated steps are done.",
                               valueName: "duration"))
    var timeLimit: String?

    func validate() throws {
        if let klWarmup, klWarmup < 0 { throw ValidationError("--kl-warmup must be zero or a positive number of steps") }
        if let freeBits, !(freeBits >= 0 && freeBits.isFinite) {
            throw ValidationError("--free-bits must be zero or positive (nats per latent dimension), e.g. 0.25")
        }
        if let warmupSteps, warmupSteps < 0 { throw ValidationError("--warmup-steps must be zero or positive") }
        if let timeLimit, DurationText.seconds(timeLimit) == nil {
            throw ValidationError("--time-limit takes a duration such as 228s, 8m or 1h30m")
        }
        if timeLimit != nil, schedule != .constant, let warmupSteps, warmupSteps < LearningRateSchedule.minimumTimedWarmup {
            throw ValidationError("--time-limit with the cosine schedule (the default without --preset) measures the pace over the warm-up: "
                + "give --warmup-steps at least \(LearningRateSchedule.minimumTimedWarmup)")
        }
    }

    /// Writes these settings into a new run's options; `epochs` is --epochs as given.
    /// `defaults`: the schedule and KL warm-up of the images' defaults when the flags leave them
    /// open (none with a preset or --model: a constant rate, as the reference runs).
    func apply(to t: inout TrainOptions, epochs: Int?, defaults: ModelDefaults? = nil) {
        t.klWarmupSteps = (klWarmup ?? defaults?.klWarmup).flatMap { $0 > 0 ? $0 : nil }
        t.freeBits = freeBits.flatMap { $0 > 0 ? $0 : nil }
        // A warm-up left out is settled when the run starts (LearningRateSchedule.defaultWarmup).
        let kind = schedule ?? defaults?.schedule ?? .constant
        if kind != .constant || warmupSteps != nil { t.schedule = LearningRateSchedule(kind: kind, warmupSteps: warmupSteps) }
        t.flip = flip ? true : nil
        t.timeLimit = timeLimit.flatMap(DurationText.seconds)
        if t.timeLimit != nil && epochs == nil { t.epochs = TrainOptions.noEpochCap }
    }

    /// With --resume: the flags given here, to agree with the saved run.
    func fixedSettings() -> [FixedSetting] {
        var fixed: [FixedSetting] = []
        if let schedule { fixed.append(FixedSetting("--schedule", given: schedule, saved: \.training.scheduleKind, show: { $0.rawValue })) }
        if let warmupSteps { fixed.append(FixedSetting("--warmup-steps", given: warmupSteps, saved: \.training.warmupSteps)) }
        if let klWarmup { fixed.append(FixedSetting("--kl-warmup", given: klWarmup, saved: \.training.klWarmup)) }
        if let freeBits {
            fixed.append(FixedSetting("--free-bits", given: freeBits > 0 ? freeBits : nil, saved: \.training.freeBits,
                                      show: { $0.map { "\($0)" } ?? "0" }))
        }
        if flip { fixed.append(FixedSetting("--flip", given: true, saved: \.training.flips, show: { $0 ? "on" : "off" })) }
        if let timeLimit, let seconds = DurationText.seconds(timeLimit) {
            fixed.append(FixedSetting("--time-limit", given: seconds, saved: \.training.timeLimit,
                                      show: { $0.map(DurationText.text) ?? "none" }))
        }
        return fixed
    }
}

extension LearningRateSchedule.Kind: ExpressibleByArgument {}
