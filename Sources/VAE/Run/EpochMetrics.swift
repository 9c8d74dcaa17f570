// EpochMetrics: one line of metrics.jsonl, an epoch's figures.

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
    /// The last step's learning rate and KL weight, when they are scheduled.
    public var learningRate: Double?
    public var beta: Double?
    /// The global gradient norm (before clipping) over the epoch's applied steps: mean and
    /// largest, and how many steps --clip-norm scaled down (nil without --clip-norm).
    public var gradientNorm: Double?
    public var maxGradientNorm: Double?
    public var clippedSteps: Int?
    /// Steps whose update --skip-spikes left out (nil when the run does not skip them).
    public var spikeSteps: Int?
}
