// The training loop on its own: epochs over a BatchSource, stops and continuations, events, divergence.
import Foundation
import Testing
import TestSupport
import ImageIO
@testable import VAE
@testable import VAECore

/// Records what the loop reports; optionally stops it, and keeps a copy of the trainer's weights
/// and Adam at the moment it stops (what a checkpoint would hold).
final class LoopRecorder: TrainingLoopDelegate {
    var steps = 0
    var epochEnds: [(epoch: Int, sums: EpochSums)] = []
    var skipped: [Int] = []
    var stops: [EarlyStop] = []
    var saved: (params: [Float], average: [Float]?, m: [Float], v: [Float], adamStep: Int, state: TrainingState)?

    func trainingLoop(_ loop: TrainingLoop, didStep progress: StepProgress) { steps += 1 }
    func trainingLoop(_ loop: TrainingLoop, skippedStep step: Int) { skipped.append(step) }
    func trainingLoop(_ loop: TrainingLoop, didFinishEpoch sums: EpochSums, imagesPerSecond: Double) throws -> EpochVerdict {
        epochEnds.append((loop.state.epoch, sums))
        return .goOn
    }
    func trainingLoop(_ loop: TrainingLoop, willStop reason: EarlyStop) throws {
        stops.append(reason)
        let t = loop.trainer
        saved = (t.params.array, t.average?.array, t.adam.m.array, t.adam.v.array, t.adam.step, loop.state)
    }
}

/// A source that makes its images as it goes (a stand-in for a streamed one): image i of
/// epoch e is a pattern of (e, i); it only supports reading an epoch in order.
final class GeneratedBatches: BatchSource {
    let imageFloats: Int, imagesPerEpoch: Int
    /// Images it actually gives per epoch (fewer than it announced: a folder that shrank).
    let available: Int
    var epoch = 0, next = 0, batchSize = 1
    init(imageFloats: Int, images: Int, available: Int? = nil) {
        (self.imageFloats, imagesPerEpoch, self.available) = (imageFloats, images, available ?? images)
    }
    func beginEpoch(_ epoch: Int, batchSize: Int, from first: Int) { (self.epoch, self.batchSize, next) = (epoch, batchSize, first * batchSize) }
    func nextBatch(into images: UnsafeMutablePointer<Float>) -> Int {
        let count = Swift.max(0, Swift.min(batchSize, available - next))
        for b in 0..<count {
            for j in 0..<imageFloats { images[b * imageFloats + j] = Float((epoch * 7 + (next + b) * 3 + j) % 11) / 10 }
        }
        next += count
        return count
    }
}

@Suite struct TrainingLoopTests {
    static let config = ModelConfig.plain(size: 8, channels: 1, widths: [4, 8], hidden: nil, latent: 3)

    static func dataset(count: Int) -> ImageDataset {
        var rng = TestRandom(21)
        let bytes = (0..<(count * 64)).map { _ in UInt8(rng.next() % 256) }
        return ImageDataset(preparation: ImagePreparation(size: 8, channels: 1), paths: (0..<count).map { "img\($0).png" }, bytes: bytes)
    }

    static func trainer(params: Buffer? = nil, average: Buffer? = nil) -> Trainer {
        Trainer(network: Network(config: config), batch: 5, seed: 4, shards: 2, threads: 2, params: params,
                averageDecay: 0.9, average: average)
    }

    /// Stopped after any step and continued from what a checkpoint holds, the loop ends with the
    /// same weights, bit for bit, as one never stopped; its epoch ends report the same sums.
    @Test(arguments: [1, 4, 5, 9]) func aStoppedLoopContinuesExactly(stopAfter: Int) throws {
        let source = ImageBatches(dataset: Self.dataset(count: 23), validationFraction: 0.1, seed: 4)
        let straight = Self.trainer(), straightEvents = LoopRecorder()
        let loop = TrainingLoop(trainer: straight, source: source, batchSize: 5, epochs: 3)
        loop.delegate = straightEvents
        #expect(try loop.run() == .finished)
        #expect(loop.stepsPerEpoch == 5 && straightEvents.steps == 15)
        #expect(straightEvents.epochEnds.map(\.epoch) == [1, 2, 3])
        #expect(straightEvents.epochEnds.allSatisfy { $0.sums.images == 21 && $0.sums.skippedSteps == 0 })

        let first = Self.trainer(), events = LoopRecorder()
        let stopped = TrainingLoop(trainer: first, source: source, batchSize: 5, epochs: 3)
        stopped.delegate = events
        stopped.stopRequested = { events.steps >= stopAfter }
        #expect(try stopped.run() == .interrupted)
        #expect(events.stops == [.interrupted])
        let saved = try #require(events.saved)
        #expect(saved.state.step == stopAfter)
        #expect(saved.state.epoch * 5 + saved.state.batchInEpoch == stopAfter)

        let second = Self.trainer(params: Buffer(saved.params), average: saved.average.map(Buffer.init))
        second.adam.m.copy(from: Buffer(saved.m))
        second.adam.v.copy(from: Buffer(saved.v))
        second.adam.step = saved.adamStep
        let continued = TrainingLoop(trainer: second, source: source, batchSize: 5, epochs: 3, state: saved.state)
        continued.delegate = events
        #expect(try continued.run() == .finished)
        #expect(second.params.array == straight.params.array)
        #expect(second.average!.array == straight.average!.array)
        #expect(events.epochEnds.map(\.sums) == straightEvents.epochEnds.map(\.sums))
    }

    /// With every schedule on — a cosine learning rate after a warm-up, KL warm-up, free bits and
    /// flips — a loop stopped after any step and continued from what a checkpoint holds ends with
    /// the same weights, bit for bit, as one never stopped.
    @Test(arguments: [1, 3, 6, 8, 12]) func aScheduledLoopContinuesExactly(stopAfter: Int) throws {
        func scheduled(_ trainer: Trainer, state: TrainingState = TrainingState()) -> TrainingLoop {
            let batches = ImageBatches(dataset: Self.dataset(count: 23), validationFraction: 0.1, seed: 4)
            trainer.freeBits = 0.5
            let loop = TrainingLoop(trainer: trainer, source: HorizontalFlips(batches, seed: 4, width: 8), batchSize: 5,
                                    epochs: 3, state: state)
            loop.schedule = TrainingSchedule(peakLearningRate: 2e-3, learningRate: LearningRateSchedule(kind: .cosine, warmupSteps: 3, totalSteps: 15),
                                             beta: 0.8, klWarmupSteps: 6)
            return loop
        }
        let straight = scheduled(Self.trainer()), straightEvents = LoopRecorder()
        straight.delegate = straightEvents
        #expect(try straight.run() == .finished)

        let events = LoopRecorder()
        let stopped = scheduled(Self.trainer())
        stopped.delegate = events
        stopped.stopRequested = { events.steps >= stopAfter }
        #expect(try stopped.run() == .interrupted)
        let saved = try #require(events.saved)
        let second = continuedTrainer(saved) { Self.trainer(params: $0, average: $1) }
        let continued = scheduled(second, state: saved.state)
        continued.delegate = events
        #expect(try continued.run() == .finished)
        #expect(second.params.array == straight.trainer.params.array)
        #expect(second.average!.array == straight.trainer.average!.array)
        #expect(events.epochEnds.map(\.sums) == straightEvents.epochEnds.map(\.sums))

        // The schedules took effect: a plain run ends elsewhere.
        let plain = Self.trainer()
        let source = ImageBatches(dataset: Self.dataset(count: 23), validationFraction: 0.1, seed: 4)
        #expect(try TrainingLoop(trainer: plain, source: source, batchSize: 5, epochs: 3).run() == .finished)
        #expect(plain.params.array != straight.trainer.params.array)
    }

    /// Three non-finite steps in a row stop the loop as diverged, after telling the delegate.
    @Test func nonFiniteStepsStopTheLoop() throws {
        let nan = ImageDataset(preparation: ImagePreparation(size: 8, channels: 1), paths: ["a", "b", "c", "d"],
                               bytes: [UInt8](repeating: 0, count: 4 * 64))
        let source = ImageBatches(dataset: nan, validationFraction: 0, seed: 1)
        let trainer = Self.trainer(), events = LoopRecorder()
        trainer.beta = .nan
        let loop = TrainingLoop(trainer: trainer, source: source, batchSize: 1, epochs: 2, maxBadSteps: 3)
        loop.delegate = events
        #expect(try loop.run() == .diverged)
        #expect(events.skipped == [1, 2, 3])
        #expect(events.stops == [.nonFiniteSteps(3)])
        #expect(events.saved?.state.sums.skippedSteps == 3)
        #expect(trainer.adam.step == 0)
    }

    /// A source that is not the in-memory data set plugs into the loop unchanged, including a
    /// start in the middle of an epoch.
    @Test func anotherBatchSourceNeedsNoChangeToTheLoop() throws {
        let source = GeneratedBatches(imageFloats: 64, images: 12)
        let whole = Self.trainer()
        let loop = TrainingLoop(trainer: whole, source: source, batchSize: 5, epochs: 2)
        #expect(try loop.run() == .finished)
        #expect(loop.state.epoch == 2 && loop.state.batchInEpoch == 0 && loop.state.step == 6)

        // The same two epochs as one step, then the rest from step 1 of epoch 0.
        let part = Self.trainer(), events = LoopRecorder()
        let first = TrainingLoop(trainer: part, source: source, batchSize: 5, epochs: 2)
        first.delegate = events
        first.stopRequested = { true }
        #expect(try first.run() == .interrupted)
        let rest = TrainingLoop(trainer: part, source: source, batchSize: 5, epochs: 2, state: first.state)
        #expect(try rest.run() == .finished)
        #expect(part.params.array == whole.params.array)
    }

    /// A source that runs dry before the images it announced ends the epoch early, without a
    /// step on an empty batch (which would divide by zero).
    @Test func aSourceThatRunsDryEndsTheEpoch() throws {
        let source = GeneratedBatches(imageFloats: 64, images: 12, available: 7)
        let events = LoopRecorder()
        let loop = TrainingLoop(trainer: Self.trainer(), source: source, batchSize: 5, epochs: 2)
        loop.delegate = events
        #expect(try loop.run() == .finished)
        #expect(events.steps == 4 && loop.state.step == 4)
        #expect(events.epochEnds.map(\.sums.images) == [7, 7])
    }
}
