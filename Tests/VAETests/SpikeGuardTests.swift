// SpikeGuard in the training loop: a step with a gradient thousands of times the usual is left out, the run goes on and resumes exactly.
import Foundation
import Testing
@testable import VAE
@testable import VAECore

/// GeneratedBatches' images; for the given steps (0-based, counted over the run) it sets the
/// trainer's KL weight to 10⁴, which makes a finite gradient thousands of times the usual.
final class SpikedBatches: BatchSource {
    let inner: GeneratedBatches, spiked: Set<Int>, stepsPerEpoch: Int
    let trainer: Trainer
    var step = 0
    init(images: Int, batchSize: Int, spiked: Set<Int>, trainer: Trainer) {
        inner = GeneratedBatches(imageFloats: 64, images: images)
        (self.spiked, stepsPerEpoch, self.trainer) = (spiked, (images + batchSize - 1) / batchSize, trainer)
    }
    var imageFloats: Int { inner.imageFloats }
    var imagesPerEpoch: Int { inner.imagesPerEpoch }
    func beginEpoch(_ epoch: Int, batchSize: Int, from first: Int) {
        inner.beginEpoch(epoch, batchSize: batchSize, from: first)
        step = epoch * stepsPerEpoch + first
    }
    func nextBatch(into images: UnsafeMutablePointer<Float>) -> Int {
        let count = inner.nextBatch(into: images)
        trainer.beta = spiked.contains(step) ? 1e4 : 1
        step += 1
        return count
    }
}

/// Keeps the weights after every step, and the steps the guard left out.
final class SpikeRecorder: TrainingLoopDelegate {
    var weights: [[Float]] = []
    var spikes: [(step: Int, ratio: Double)] = []
    var stops: [EarlyStop] = []
    var saved: (params: [Float], average: [Float]?, m: [Float], v: [Float], adamStep: Int, state: TrainingState)?
    var stopAfter: Int?
    func trainingLoop(_ loop: TrainingLoop, didStep progress: StepProgress) { weights.append(loop.trainer.params.array) }
    func trainingLoop(_ loop: TrainingLoop, skippedStep step: Int) {}
    func trainingLoop(_ loop: TrainingLoop, skippedSpike step: Int, norm: Double, usual: Double) { spikes.append((step, norm / usual)) }
    func trainingLoop(_ loop: TrainingLoop, didFinishEpoch sums: EpochSums, imagesPerSecond: Double) throws -> EpochVerdict { .goOn }
    func trainingLoop(_ loop: TrainingLoop, willStop reason: EarlyStop) throws {
        stops.append(reason)
        let t = loop.trainer
        saved = (t.params.array, t.average?.array, t.adam.m.array, t.adam.v.array, t.adam.step, loop.state)
    }
}

@Suite struct SpikeGuardTests {
    /// 12 images in batches of 5: 3 steps an epoch, 24 in 8 epochs; the guard judges from step 6.
    static func loop(_ trainer: Trainer, spiked: Set<Int>, guarded: Bool = true, state: TrainingState = TrainingState()) -> TrainingLoop {
        let loop = TrainingLoop(trainer: trainer, source: SpikedBatches(images: 12, batchSize: 5, spiked: spiked, trainer: trainer),
                                batchSize: 5, epochs: 8, state: state)
        if guarded {
            var spikeGuard = SpikeGuard(factor: 20)
            spikeGuard.settleSteps = 5
            loop.spikeGuard = spikeGuard
        }
        return loop
    }

    /// The spiked step is left out — the weights after it are those before it — and reported;
    /// every other step is applied. Without the guard the same step is applied (so the test can tell).
    @Test func aSpikeIsLeftOutAndTheRunGoesOn() throws {
        let trainer = TrainingLoopTests.trainer(), events = SpikeRecorder()
        let loop = Self.loop(trainer, spiked: [13])
        loop.delegate = events
        #expect(try loop.run() == .finished)
        #expect(events.spikes.map(\.step) == [14], "\(events.spikes)")
        #expect(events.spikes.allSatisfy { $0.ratio > 20 })
        #expect(events.weights[13] == events.weights[12])
        #expect(events.weights[14] != events.weights[13])
        #expect(trainer.adam.step == 23)
        #expect(loop.state.spikes.trackedSteps == 23)

        let unguarded = TrainingLoopTests.trainer(), plain = SpikeRecorder()
        let other = Self.loop(unguarded, spiked: [13], guarded: false)
        other.delegate = plain
        #expect(try other.run() == .finished)
        #expect(plain.spikes.isEmpty && unguarded.adam.step == 24)
        #expect(plain.weights[13] != plain.weights[12])
        // Before the spike both runs are the same run.
        #expect(plain.weights[12] == events.weights[12])
    }

    /// Nothing is judged while the usual norm is being measured: a spike then is applied.
    @Test func theFirstStepsOnlyMeasure() throws {
        let trainer = TrainingLoopTests.trainer(), events = SpikeRecorder()
        let loop = Self.loop(trainer, spiked: [3])
        loop.delegate = events
        #expect(try loop.run() == .finished)
        #expect(events.spikes.isEmpty && trainer.adam.step == 24)
    }

    /// Stopped after any step and continued from what a checkpoint holds (the guard's running
    /// norm included), the run ends with the same weights as one never stopped.
    @Test(arguments: [4, 9, 13, 14, 20]) func aGuardedLoopContinuesExactly(stopAfter: Int) throws {
        let straight = TrainingLoopTests.trainer()
        #expect(try Self.loop(straight, spiked: [13, 17]).run() == .finished)

        let first = TrainingLoopTests.trainer(), events = SpikeRecorder()
        let stopped = Self.loop(first, spiked: [13, 17])
        stopped.delegate = events
        stopped.stopRequested = { events.weights.count >= stopAfter }
        #expect(try stopped.run() == .interrupted)
        let saved = try #require(events.saved)
        let second = TrainingLoopTests.trainer(params: Buffer(saved.params), average: saved.average.map(Buffer.init))
        second.adam.m.copy(from: Buffer(saved.m))
        second.adam.v.copy(from: Buffer(saved.v))
        second.adam.step = saved.adamStep
        #expect(try Self.loop(second, spiked: [13, 17], state: saved.state).run() == .finished)
        #expect(second.params.array == straight.params.array)
        #expect(second.average!.array == straight.average!.array)
    }

    /// Spikes that never end are no spikes: after maxSpikesInARow the loop stops as diverged,
    /// its weights those before the first.
    @Test func spikesInARowStopTheRun() throws {
        let trainer = TrainingLoopTests.trainer(), events = SpikeRecorder()
        let loop = Self.loop(trainer, spiked: Set(10..<24))
        loop.maxSpikesInARow = 4
        loop.delegate = events
        #expect(try loop.run() == .diverged)
        #expect(events.stops == [.gradientSpikes(4)])
        #expect(events.spikes.map(\.step) == [11, 12, 13, 14])
        #expect(events.saved?.params == events.weights[9])
        // Steps 13 and 14 are the stopped epoch's (steps 13–15).
        #expect(events.saved?.state.sums.spikeSteps == 2)
    }

    /// The guard's state goes through a checkpoint's metadata and back; damage is refused.
    @Test func theGuardStateRoundTrips() throws {
        var state = SpikeGuard.State()
        #expect(SpikeGuard.State(metadata: state.metadata) == state)
        for norm in [1.5e5, 2e5, 0.9e5] { SpikeGuard.record(norm, into: &state) }
        #expect(state.trackedSteps == 3)
        #expect(SpikeGuard.State(metadata: state.metadata) == state)
        // A running mean of the logs, weight 0.01 for each new one.
        var l = log(1.5e5)
        for norm in [2e5, 0.9e5] { l = 0.99 * l + 0.01 * log(norm) }
        let usual = try #require(state.usualNorm)
        #expect(abs(usual - exp(l)) < 1e-6 * exp(l))
        // And through a training state's metadata as Checkpoint reads it.
        var meta = ["epoch": "1", "batch_in_epoch": "0", "step": "3"]
        meta.merge(state.metadata) { $1 }
        #expect(try Checkpoint.readState(meta, path: "state").spikes == state)
        var damaged = state.metadata
        damaged["log_usual_gradient_norm"] = "nan"
        #expect(SpikeGuard.State(metadata: damaged) == nil)
        damaged = state.metadata
        damaged["tracked_gradient_steps"] = "-1"
        #expect(SpikeGuard.State(metadata: damaged) == nil)
    }
}
