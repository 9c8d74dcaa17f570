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

    public enum Outcome: Sendable, Equatable { case finished, interrupted, diverged }

    public init(trainer: Trainer, source: BatchSource, batchSize: Int, epochs: Int, maxBadSteps: Int = 3,
                state: TrainingState = TrainingState()) {
        (self.trainer, self.source, self.batchSize, self.epochs, self.maxBadSteps, self.state) =
            (trainer, source, batchSize, epochs, maxBadSteps, state)
    }

    public var stepsPerEpoch: Int { source.batchesPerEpoch(batchSize: batchSize) }

    /// Trains from `state` until `epochs` epochs are done, a stop is requested, or the loss diverges.
    public func run() throws -> Outcome {
        let batch = Buffer(count: batchSize * source.imageFloats)
        var badInARow = 0
        while state.epoch < epochs {
            let epoch = state.epoch, steps = stepsPerEpoch
            source.beginEpoch(epoch, batchSize: batchSize, from: state.batchInEpoch)
            let epochStart = Profiler.now()
            var imagesThisSession = 0
            while state.batchInEpoch < steps {
                let count = source.nextBatch(into: batch.pointer)
                // A source that runs dry before its count (a streamed folder that shrank) ends the epoch.
                guard count > 0 else { break }
                let result = trainer.step(batch.pointer, count: count, noiseIndex: UInt64(state.step))
                state.step += 1
                state.batchInEpoch += 1
                imagesThisSession += count
                if result.applied {
                    badInARow = 0
                    state.sums.add(result, count: count)
                } else {
                    badInARow += 1
                    state.sums.skippedSteps += 1
                    delegate?.trainingLoop(self, skippedStep: state.step)
                    if badInARow >= maxBadSteps {
                        state.trainSeconds += Profiler.now() - epochStart
                        try delegate?.trainingLoop(self, willStop: .nonFiniteSteps(badInARow))
                        return .diverged
                    }
                }
                let seconds = Profiler.now() - epochStart
                let rate = Double(imagesThisSession) / Swift.max(seconds, 1e-9)
                delegate?.trainingLoop(self, didStep: StepProgress(
                    epoch: epoch, epochs: epochs, batch: state.batchInEpoch, batches: steps, sums: state.sums,
                    imagesPerSecond: rate, imagesLeft: Swift.max(0, source.imagesPerEpoch - state.batchInEpoch * batchSize)))
                if stopRequested() {
                    state.trainSeconds += seconds
                    try delegate?.trainingLoop(self, willStop: .interrupted)
                    return .interrupted
                }
            }
            let seconds = Profiler.now() - epochStart
            state.trainSeconds += seconds
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
}
