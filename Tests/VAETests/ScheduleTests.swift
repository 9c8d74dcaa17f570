// Schedules: the learning rate and KL weight at each step against their formulas, the time budget on a fake clock, durations, old configs.
import Foundation
import Testing
import TestSupport
import ImageIO
@testable import VAE
@testable import VAECore

/// Records the learning rate and β the trainer had for each step, the estimate of a time-limited
/// run, epoch ends, and what a checkpoint would hold when the loop stops.
final class ScheduleRecorder: TrainingLoopDelegate {
    var rates: [Float] = [], betas: [Float] = []
    var estimated: LearningRateSchedule?
    var epochEnds: [EpochSums] = []
    var saved: (params: [Float], average: [Float]?, m: [Float], v: [Float], adamStep: Int, state: TrainingState)?

    func trainingLoop(_ loop: TrainingLoop, didStep progress: StepProgress) {
        rates.append(loop.trainer.adam.settings.learningRate)
        betas.append(loop.trainer.beta)
    }
    func trainingLoop(_ loop: TrainingLoop, skippedStep step: Int) {}
    func trainingLoop(_ loop: TrainingLoop, didFinishEpoch sums: EpochSums, imagesPerSecond: Double) throws -> EpochVerdict {
        epochEnds.append(sums)
        return .goOn
    }
    func trainingLoop(_ loop: TrainingLoop, willStop reason: EarlyStop) throws {
        let t = loop.trainer
        saved = (t.params.array, t.average?.array, t.adam.m.array, t.adam.v.array, t.adam.step, loop.state)
    }
    func trainingLoop(_ loop: TrainingLoop, didEstimate schedule: LearningRateSchedule) throws { estimated = schedule }
}

/// A new trainer continuing from what a checkpoint holds.
func continuedTrainer(_ saved: (params: [Float], average: [Float]?, m: [Float], v: [Float], adamStep: Int, state: TrainingState),
                      make: (Buffer, Buffer?) -> Trainer) -> Trainer {
    let trainer = make(Buffer(saved.params), saved.average.map(Buffer.init))
    trainer.adam.m.copy(from: Buffer(saved.m))
    trainer.adam.v.copy(from: Buffer(saved.v))
    trainer.adam.step = saved.adamStep
    return trainer
}

@Suite struct ScheduleTests {
    /// The cosine with warm-up, written out independently: lr·(s+1)/W, then lr·½(1 + cos(π(s − W)/(T − W))).
    static func expectedRate(_ s: Int, peak: Double, warmup: Int, total: Int) -> Double {
        if s < warmup { return peak * Double(s + 1) / Double(warmup) }
        return peak * 0.5 * (1 + cos(Double.pi * Double(s - warmup) / Double(total - warmup)))
    }

    @Test func learningRateFactorsFollowTheFormulas() {
        let cosine = LearningRateSchedule(kind: .cosine, warmupSteps: 10, totalSteps: 110)
        for s in [0, 4, 9, 10, 11, 35, 60, 109, 110, 500] {
            #expect(isClose(cosine.factor(atStep: s), Self.expectedRate(Swift.min(s, 110), peak: 1, warmup: 10, total: 110),
                            relative: 1e-12, absolute: 1e-15), "step \(s)")
        }
        #expect(cosine.factor(atStep: 0) == 0.1 && cosine.factor(atStep: 10) == 1 && cosine.factor(atStep: 60) == 0.5)
        #expect(cosine.factor(atStep: 110) == 0)
        let constant = LearningRateSchedule(kind: .constant, warmupSteps: 4)
        #expect([0, 1, 2, 3, 4, 100].map { constant.factor(atStep: $0) } == [0.25, 0.5, 0.75, 1, 1, 1])
        // A flat schedule gives the peak itself, so runs without schedules stay bit for bit as before.
        let flat = TrainingSchedule(peakLearningRate: 3e-4)
        #expect((0..<5).allSatisfy { flat.learningRate(atStep: $0) == 3e-4 && flat.beta(atStep: $0) == 1 })
    }

    /// The loop sets, before every step, the learning rate and β of that step: the cosine over
    /// 3 epochs of 5 steps after a 3-step warm-up, and β ramping from 0 over 6 steps.
    @Test func theLoopSetsTheScheduledRateAndBetaAtEachStep() throws {
        let source = ImageBatches(dataset: TrainingLoopTests.dataset(count: 23), validationFraction: 0.1, seed: 4)
        let loop = TrainingLoop(trainer: TrainingLoopTests.trainer(), source: source, batchSize: 5, epochs: 3)
        loop.schedule = TrainingSchedule(peakLearningRate: 2e-3, learningRate: LearningRateSchedule(kind: .cosine, warmupSteps: 3, totalSteps: 15),
                                         beta: 0.8, klWarmupSteps: 6)
        let events = ScheduleRecorder()
        loop.delegate = events
        #expect(try loop.run() == .finished)
        #expect(events.rates.count == 15)
        for s in 0..<15 {
            #expect(isClose(Double(events.rates[s]), Self.expectedRate(s, peak: 2e-3, warmup: 3, total: 15), relative: 1e-6, absolute: 1e-12),
                    "lr at step \(s): \(events.rates[s])")
            #expect(isClose(Double(events.betas[s]), 0.8 * min(1, Double(s) / 6), relative: 1e-6, absolute: 0), "β at step \(s)")
        }
        #expect(events.betas[0] == 0 && events.betas[6] == 0.8)
    }

    /// Adam takes the step's rate: its first update moves each weight by about lr·sign(g), so with
    /// a 10-step warm-up the largest move is lr/10, not lr.
    @Test func adamUsesTheScheduledRate() throws {
        let source = ImageBatches(dataset: TrainingLoopTests.dataset(count: 5), validationFraction: 0, seed: 4)
        let trainer = TrainingLoopTests.trainer()
        let before = trainer.params.array
        let loop = TrainingLoop(trainer: trainer, source: source, batchSize: 5, epochs: 1)
        loop.schedule = TrainingSchedule(peakLearningRate: 1e-2, learningRate: LearningRateSchedule(kind: .constant, warmupSteps: 10))
        #expect(try loop.run() == .finished)
        let moved = zip(trainer.params.array, before).map { abs($0 - $1) }.max()!
        #expect(isClose(Double(moved), 1e-3, relative: 1e-2), "largest move \(moved)")
    }

    static func timedLoop(trainer: Trainer, state: TrainingState = TrainingState(), schedule: LearningRateSchedule,
                          budget: Double) -> TrainingLoop {
        let source = ImageBatches(dataset: TrainingLoopTests.dataset(count: 23), validationFraction: 0.1, seed: 4)
        let loop = TrainingLoop(trainer: trainer, source: source, batchSize: 5, epochs: TrainOptions.noEpochCap, state: state)
        loop.schedule = TrainingSchedule(peakLearningRate: 1e-3, learningRate: schedule, beta: 1, timeLimit: budget)
        // A fake clock: every step takes half a second.
        loop.clock = { [unowned loop] in Double(loop.state.step) * 0.5 }
        return loop
    }

    /// On a clock where each step takes 0.5 s, a 9.2 s budget with a 4-step warm-up: after the
    /// warm-up (2 s) the cosine is laid over 4 + ⌊7.2 s × 2 steps/s⌋ = 18 steps, and the run ends
    /// there, in the middle of its fourth epoch, which is finished as a short last epoch.
    @Test func aTimeLimitLaysTheCosineOverTheEstimatedStepsAndStops() throws {
        let loop = Self.timedLoop(trainer: TrainingLoopTests.trainer(), schedule: LearningRateSchedule(kind: .cosine, warmupSteps: 4),
                                  budget: 9.2)
        let events = ScheduleRecorder()
        loop.delegate = events
        #expect(try loop.run() == .finished)
        let estimated = try #require(events.estimated)
        #expect(estimated.totalSteps == 18 && estimated.estimate == StepEstimate(steps: 4, seconds: 2, budget: 9.2))
        #expect(loop.state.step == 18 && loop.state.epoch == 4 && loop.state.batchInEpoch == 0)
        #expect(loop.timeLimitReached && loop.isComplete)
        #expect(events.epochEnds.map(\.images) == [21, 21, 21, 15])
        for s in 0..<18 {
            #expect(isClose(Double(events.rates[s]), Self.expectedRate(s, peak: 1e-3, warmup: 4, total: 18), relative: 1e-6, absolute: 1e-12))
        }
        // A constant rate needs no estimate: the budget alone ends the run, at 19 steps (9.5 s ≥ 9.2 s).
        let constant = Self.timedLoop(trainer: TrainingLoopTests.trainer(), schedule: LearningRateSchedule(), budget: 9.2)
        #expect(try constant.run() == .finished)
        #expect(constant.state.step == 19 && constant.timeLimitReached && constant.schedule?.learningRate.totalSteps == nil)
    }

    /// A time-limited run stopped at any step and continued from its checkpoint and the saved
    /// schedule (with the estimate once made) ends with the same weights as one never stopped.
    @Test(arguments: [2, 4, 7, 13]) func aTimeLimitedRunContinuesExactly(stopAfter: Int) throws {
        let cosine = LearningRateSchedule(kind: .cosine, warmupSteps: 4)
        let straight = Self.timedLoop(trainer: TrainingLoopTests.trainer(), schedule: cosine, budget: 9.2)
        #expect(try straight.run() == .finished)

        let events = ScheduleRecorder()
        let first = Self.timedLoop(trainer: TrainingLoopTests.trainer(), schedule: cosine, budget: 9.2)
        first.delegate = events
        first.stopRequested = { events.rates.count >= stopAfter }
        #expect(try first.run() == .interrupted)
        let saved = try #require(events.saved)
        #expect((events.estimated != nil) == (stopAfter >= 4))
        let second = continuedTrainer(saved) { TrainingLoopTests.trainer(params: $0, average: $1) }
        let rest = Self.timedLoop(trainer: second, state: saved.state, schedule: events.estimated ?? cosine, budget: 9.2)
        #expect(try rest.run() == .finished)
        #expect(rest.state.step == 18)
        #expect(second.params.array == straight.trainer.params.array)
        #expect(second.average!.array == straight.trainer.average!.array)
    }

    /// On the real clock, a budget far below one step's time ends the run after its first step.
    @Test func aTinyBudgetStopsAfterTheFirstStep() throws {
        let source = ImageBatches(dataset: TrainingLoopTests.dataset(count: 23), validationFraction: 0.1, seed: 4)
        let loop = TrainingLoop(trainer: TrainingLoopTests.trainer(), source: source, batchSize: 5, epochs: 100)
        loop.schedule = TrainingSchedule(peakLearningRate: 1e-3, timeLimit: 1e-9)
        let events = ScheduleRecorder()
        loop.delegate = events
        #expect(try loop.run() == .finished)
        #expect(loop.state.step == 1 && loop.timeLimitReached && events.epochEnds.count == 1)
    }

    @Test func estimatesTurnTheBudgetIntoSteps() {
        #expect(StepEstimate(steps: 100, seconds: 4, budget: 228).totalSteps == 5700)
        #expect(StepEstimate(steps: 10, seconds: 20, budget: 10).totalSteps == 11)   // already over: one more step
        #expect(StepEstimate(steps: 10, seconds: 0, budget: 10).totalSteps == 10 + 1_000_000_000)
    }

    @Test func durationsParse() {
        let cases: [(String, Double?)] = [("228s", 228), ("8m", 480), ("1h", 3600), ("1h30m", 5400), ("90", 90), ("2.5m", 150),
                                          ("0.5s", 0.5), ("1m 30s", 90), ("", nil), ("0s", nil), ("-5s", nil), ("5x", nil),
                                          ("m", nil), ("1.2.3s", nil)]
        for (text, seconds) in cases { #expect(DurationText.seconds(text) == seconds, "\(text)") }
        #expect([228.0, 480, 3600, 5400, 45, 3723].map(DurationText.text) == ["3m48s", "8m", "1h", "1h30m", "45s", "1h02m03s"])
        #expect(DurationText.text(0.02) == "0.02s")
        for s in [228.0, 480, 3600, 5400, 45, 3723, 0.02, 12.5] { #expect(DurationText.seconds(DurationText.text(s)) == s) }
    }

    /// config.json files written before these settings load, and train as they did.
    @Test func oldTrainingOptionsLoadWithoutTheNewKeys() throws {
        let old = #"{"epochs": 3, "batch": 8, "learningRate": 0.001, "beta": 1, "seed": 2, "validationFraction": 0.05, "shards": 2, "maxBadSteps": 3}"#
        let t = try JSONDecoder().decode(TrainOptions.self, from: Data(old.utf8))
        #expect(t.klWarmupSteps == nil && t.freeBits == nil && t.schedule == nil && t.flip == nil && t.timeLimit == nil)
        #expect(t.trainingSchedule == nil && t.problem == nil && t.resolved(stepsPerEpoch: 7) == t)
    }

    /// An edited config.json with these settings out of bounds is refused, naming the key.
    @Test func outOfBoundsSettingsAreNamed() {
        var t = TrainOptions()
        t.freeBits = -1
        #expect(t.problem?.hasPrefix("training.freeBits -1.0") == true)
        t = TrainOptions()
        t.schedule = LearningRateSchedule(kind: .cosine, warmupSteps: -3)
        #expect(t.problem?.hasPrefix("training.schedule.warmupSteps -3") == true)
        t = TrainOptions()
        t.timeLimit = 0
        #expect(t.problem?.hasPrefix("training.timeLimit") == true)
        t = TrainOptions()
        t.klWarmupSteps = -1
        #expect(t.problem?.hasPrefix("training.klWarmupSteps") == true)
    }

    /// A new run's schedule is settled at the start: a cosine over epochs gets its total steps and
    /// a warm-up of at most a tenth of them; a time-limited one waits for its estimate.
    @Test func resolvingSettlesDefaults() {
        var t = TrainOptions()
        t.epochs = 4
        t.schedule = LearningRateSchedule(kind: .cosine, warmupSteps: nil)
        #expect(t.resolved(stepsPerEpoch: 50).schedule == LearningRateSchedule(kind: .cosine, warmupSteps: 20, totalSteps: 200))
        #expect(t.resolved(stepsPerEpoch: 5000).schedule == LearningRateSchedule(kind: .cosine, warmupSteps: 100, totalSteps: 20000))
        t.timeLimit = 60
        #expect(t.resolved(stepsPerEpoch: 50).schedule == LearningRateSchedule(kind: .cosine, warmupSteps: 100, totalSteps: nil))
        t.schedule = LearningRateSchedule(kind: .constant, warmupSteps: nil)
        #expect(t.resolved(stepsPerEpoch: 50).schedule?.warmupSteps == 0)
    }
}
