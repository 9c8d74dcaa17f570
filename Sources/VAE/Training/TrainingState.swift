// TrainingState: where a training run stands, enough to continue it bit for bit.

public struct TrainingState: Sendable, Equatable {
    /// Epochs fully done, and batches done of the next one.
    public var epoch = 0
    public var batchInEpoch = 0
    /// Steps taken (applied or skipped): the index of the next step's noise.
    public var step = 0
    /// Running sums over the current epoch's applied steps, for its metrics line.
    public var sums = EpochSums()
    /// The usual gradient norm that --skip-spikes judges steps by.
    public var spikes = SpikeGuard.State()
    public var trainSeconds = 0.0
    /// Fingerprint of the file list, to tell when a resumed run's folder changed (DataFingerprint).
    public var dataFingerprint = ""
    /// The run (RunConfig.runID) whose checkpoint this is; nil in states saved before runs had one.
    public var runID: String?

    public init(epoch: Int = 0, batchInEpoch: Int = 0, step: Int = 0) {
        (self.epoch, self.batchInEpoch, self.step) = (epoch, batchInEpoch, step)
    }
}
