// EpochSums: the running sums over an epoch's applied steps that its metrics line is made of.

public struct EpochSums: Sendable, Equatable {
    /// Sums over the images of applied steps, in nats × images: the optimised loss, and the
    /// reconstruction and KL parts of the −ELBO.
    public var loss = 0.0
    public var reconstruction = 0.0
    public var kl = 0.0
    /// Images in the applied steps (a Double, as it was saved in the first training states).
    public var images = 0.0
    /// Steps skipped because their loss or gradient was not finite.
    public var skippedSteps = 0
    /// The global gradient norm (before clipping) over the applied steps: its sum and largest
    /// value, and the steps --clip-norm scaled down. They show a run heading for divergence and
    /// what a --clip-norm would touch; zero in states saved before they were kept.
    public var gradientNorm = 0.0
    public var maxGradientNorm = 0.0
    public var appliedSteps = 0
    public var clippedSteps = 0
    /// Steps whose update --skip-spikes left out (their gradient norm was many times the usual).
    public var spikeSteps = 0

    public init() {}

    public init(loss: Double, reconstruction: Double, kl: Double, images: Double, skippedSteps: Int) {
        (self.loss, self.reconstruction, self.kl, self.images, self.skippedSteps) =
            (loss, reconstruction, kl, images, skippedSteps)
    }

    /// Adds an applied step's batch means, weighted by its `count` images.
    public mutating func add(_ result: StepResult, count: Int) {
        let n = Double(count)
        gradientNorm += result.gradientNorm
        maxGradientNorm = Swift.max(maxGradientNorm, result.gradientNorm)
        appliedSteps += 1
        if result.clipped { clippedSteps += 1 }
        loss += result.loss * n
        reconstruction += result.reconstruction * n
        kl += result.kl * n
        images += n
    }

    /// Means per image; NaN when no step was applied (there is then no training figure to give).
    public var meanLoss: Double { loss / denominator }
    public var meanReconstruction: Double { reconstruction / denominator }
    public var meanKL: Double { kl / denominator }
    /// The mean gradient norm over the applied steps; nil when none (or the state predates it).
    public var meanGradientNorm: Double? { appliedSteps > 0 ? gradientNorm / Double(appliedSteps) : nil }
    var denominator: Double { images > 0 ? images : .nan }
}

/// How the sums are kept in a training state's safetensors metadata: one named key each.
/// States written before the names held them as one CSV under "sums" (loss, reconstruction,
/// KL, images, skipped steps), which is still read.
extension EpochSums {
    static let keys = (loss: "sum_loss", reconstruction: "sum_reconstruction", kl: "sum_kl",
                       images: "sum_images", skipped: "skipped_steps")
    static let gradientKeys = (sum: "sum_gradient_norm", max: "max_gradient_norm", applied: "applied_steps",
                               clipped: "clipped_steps", spikes: "spike_steps")
    static let legacyKey = "sums"

    /// Decimal text that reads back to the same Double (Swift prints the shortest such text).
    var metadata: [String: String] {
        [Self.keys.loss: "\(loss)", Self.keys.reconstruction: "\(reconstruction)", Self.keys.kl: "\(kl)",
         Self.keys.images: "\(images)", Self.keys.skipped: "\(skippedSteps)",
         Self.gradientKeys.sum: "\(gradientNorm)", Self.gradientKeys.max: "\(maxGradientNorm)",
         Self.gradientKeys.applied: "\(appliedSteps)", Self.gradientKeys.clipped: "\(clippedSteps)",
         Self.gradientKeys.spikes: "\(spikeSteps)"]
    }

    /// The sums in `metadata`: nil when a key is there but does not parse (the caller names the file);
    /// zero sums when none is there (the oldest states).
    init?(metadata: [String: String]) {
        self.init()
        if let text = metadata[Self.keys.loss] {
            guard let loss = Double(text), let reconstruction = metadata[Self.keys.reconstruction].flatMap(Double.init),
                  let kl = metadata[Self.keys.kl].flatMap(Double.init), let images = metadata[Self.keys.images].flatMap(Double.init),
                  let skipped = metadata[Self.keys.skipped].flatMap(Int.init) else { return nil }
            self.init(loss: loss, reconstruction: reconstruction, kl: kl, images: images, skippedSteps: skipped)
            // Kept since the gradient norm was reported; absent in older states (then zero).
            if let text = metadata[Self.gradientKeys.sum] {
                guard let sum = Double(text), let max = metadata[Self.gradientKeys.max].flatMap(Double.init),
                      let applied = metadata[Self.gradientKeys.applied].flatMap(Int.init),
                      let clipped = metadata[Self.gradientKeys.clipped].flatMap(Int.init),
                      applied >= 0, clipped >= 0 else { return nil }
                (gradientNorm, maxGradientNorm, appliedSteps, clippedSteps) = (sum, max, applied, clipped)
                // Kept since --skip-spikes; absent in older states (then zero).
                if let text = metadata[Self.gradientKeys.spikes] {
                    guard let spikes = Int(text), spikes >= 0 else { return nil }
                    spikeSteps = spikes
                }
            }
        } else if let csv = metadata[Self.legacyKey] {
            let values = csv.split(separator: ",").map { Double($0) }
            guard values.count == 5, values.allSatisfy({ $0 != nil }), let skipped = Int(exactly: values[4]!) else { return nil }
            self.init(loss: values[0]!, reconstruction: values[1]!, kl: values[2]!, images: values[3]!, skippedSteps: skipped)
        }
    }
}
