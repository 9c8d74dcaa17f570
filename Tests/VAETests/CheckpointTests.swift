// Checkpoints: the training state alone restores a run, a model file left behind by a cut-short save is rewritten, old pairs still load.
import Foundation
import Testing
import TestSupport
import ImageIO
@testable import VAE
@testable import VAECore

@Suite struct CheckpointTests {
    static let model = ModelConfig.plain(size: 8, channels: 1, widths: [4], hidden: nil, latent: 2)

    static func run(averageDecay: Float?) -> RunConfig {
        var t = TrainOptions()
        t.batch = 4
        t.averageDecay = averageDecay
        return RunConfig(model: model, data: ImagePreparation(size: 8, channels: 1), training: t, dataFolders: ["/data"])
    }

    /// A trainer after `steps` steps on fixed images, and the state that says so.
    static func trained(steps: Int, averageDecay: Float?) -> (Trainer, TrainingState) {
        let trainer = Trainer(network: Network(config: model), batch: 4, seed: 1, averageDecay: averageDecay)
        var rng = TestRandom(31)
        let x = Buffer(rng.floats(4 * 64, 0, 1))
        var state = TrainingState()
        for step in 0..<steps {
            state.sums.add(trainer.step(x.pointer, count: 4, noiseIndex: UInt64(step)), count: 4)
            state.step += 1
            state.batchInEpoch += 1
        }
        state.dataFingerprint = "v2-abc-4"
        return (trainer, state)
    }

    static func save(_ trainer: Trainer, _ state: TrainingState, to folder: String, decay: Float?) throws {
        try Checkpoint.save(folder: folder, config: run(averageDecay: decay), network: trainer.network, params: trainer.params,
                            average: trainer.average, adam: trainer.adam, state: state)
    }

    /// Everything a resume needs comes back from the training state, sums and position exactly.
    @Test(arguments: [Float(0.9), nil]) func theStateAloneRestoresTheRun(decay: Float?) throws {
        let folder = temporaryFolder("vae-ckpt")
        let (trainer, state) = Self.trained(steps: 3, averageDecay: decay)
        try Self.save(trainer, state, to: folder, decay: decay)
        unlink(folder + "/" + Checkpoint.modelFile)
        let point = try Checkpoint.resumePoint(folder: folder, network: trainer.network, averaging: decay != nil)
        #expect(point.state == state)
        #expect(point.params.array == trainer.params.array)
        #expect(point.average?.array == trainer.average?.array)
        #expect(point.modelIsStale)
        let adam = Adam(count: trainer.network.parameterCount)
        point.restore(adam)
        #expect(adam.m.array == trainer.adam.m.array && adam.v.array == trainer.adam.v.array && adam.step == 3)
    }

    /// A save cut short after the state: the model file is the previous checkpoint's. The pair is
    /// recognised (epoch and step differ) and the weights come from the state, not the old model.
    @Test func aModelFileOlderThanItsStateIsRecognised() throws {
        let folder = temporaryFolder("vae-ckpt-stale")
        let (trainer, state) = Self.trained(steps: 2, averageDecay: 0.9)
        try Self.save(trainer, state, to: folder, decay: 0.9)
        let older = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + Checkpoint.modelFile))
        let (later, laterState) = Self.trained(steps: 4, averageDecay: 0.9)
        try Self.save(later, laterState, to: folder, decay: 0.9)
        try older.write(to: URL(fileURLWithPath: folder + "/" + Checkpoint.modelFile))
        let point = try Checkpoint.resumePoint(folder: folder, network: later.network, averaging: true)
        #expect(point.modelIsStale)
        #expect(point.state.step == 4)
        #expect(point.average?.array == later.average?.array)
        #expect(try Checkpoint.loadWeights(folder: folder, network: later.network).array != later.average?.array)
    }

    /// A training state written before states held every weight, as `vae train` wrote it then:
    /// the sums as one CSV, no version, the average only in model.safetensors.
    static func writeLegacy(_ trainer: Trainer, _ state: TrainingState, modelStep: Int, to folder: String) throws {
        let s = state.sums
        let meta = ["epoch": "\(state.epoch)", "batch_in_epoch": "\(state.batchInEpoch)", "step": "\(state.step)",
                    "adam_step": "\(trainer.adam.step)", "seed": "1",
                    "sums": [s.loss, s.reconstruction, s.kl, s.images, Double(s.skippedSteps)].map { "\($0)" }.joined(separator: ","),
                    "train_seconds": "1.5", "data_fingerprint": "1f2e-4"]
        var tensors: [Safetensors.Entry] = [
            .init(name: "adam.exp_avg", shape: [trainer.adam.m.count], values: trainer.adam.m.array),
            .init(name: "adam.exp_avg_sq", shape: [trainer.adam.v.count], values: trainer.adam.v.array),
        ]
        if trainer.average != nil {
            tensors.append(.init(name: "weights.iterate", shape: [trainer.params.count], values: trainer.params.array))
        }
        try Safetensors(tensors: tensors, metadata: meta).write(to: folder + "/" + Checkpoint.stateFile)
        try Checkpoint.weights(trainer.network, trainer.average ?? trainer.params,
                               metadata: ["format": "pt", "epoch": "\(state.epoch)", "step": "\(modelStep)"])
            .write(to: folder + "/" + Checkpoint.modelFile)
    }

    @Test(arguments: [Float(0.9), nil]) func aLegacyPairStillResumes(decay: Float?) throws {
        let folder = temporaryFolder("vae-ckpt-legacy")
        var (trainer, state) = Self.trained(steps: 3, averageDecay: decay)
        state.sums.skippedSteps = 1
        try Self.writeLegacy(trainer, state, modelStep: 3, to: folder)
        let point = try Checkpoint.resumePoint(folder: folder, network: trainer.network, averaging: decay != nil)
        // A legacy state kept no gradient norms: they start again from none.
        var legacySums = state.sums
        (legacySums.gradientNorm, legacySums.maxGradientNorm, legacySums.appliedSteps, legacySums.clippedSteps) = (0, 0, 0, 0)
        #expect(point.state.sums == legacySums)
        #expect(point.state.step == 3 && point.state.trainSeconds == 1.5 && point.state.dataFingerprint == "1f2e-4")
        #expect(point.params.array == trainer.params.array)
        #expect(point.average?.array == trainer.average?.array)
        #expect(!point.modelIsStale)
    }

    /// An old-format pair from two different saves cannot be put right: refused in one line.
    @Test func aMismatchedLegacyPairIsRefused() throws {
        let folder = temporaryFolder("vae-ckpt-mismatch")
        let (trainer, state) = Self.trained(steps: 3, averageDecay: 0.9)
        try Self.writeLegacy(trainer, state, modelStep: 1, to: folder)
        let error = #expect(throws: RunError.self) {
            try Checkpoint.resumePoint(folder: folder, network: trainer.network, averaging: true)
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("model.safetensors (epoch 0, step 1) and training_state.safetensors (epoch 0, step 3)"))
        #expect(text.contains("different checkpoints") && !text.contains("\n"))
    }

    /// The sums are saved under their names, exactly; the old CSV is still read.
    @Test func epochSumsRoundTripAndTheOldCSVIsRead() throws {
        var sums = EpochSums(loss: 1.0 / 3, reconstruction: 2e-300, kl: 123456.789, images: 38, skippedSteps: 2)
        (sums.gradientNorm, sums.maxGradientNorm, sums.appliedSteps, sums.clippedSteps) = (1e3 / 7, 250.5, 5, 1)
        #expect(EpochSums(metadata: sums.metadata) == sums)
        #expect(EpochSums(metadata: sums.metadata)?.meanGradientNorm == 1e3 / 35)
        // States saved before the gradient norm was kept load with none.
        let older = sums.metadata.filter { !$0.key.contains("gradient") && !$0.key.hasSuffix("applied_steps") && $0.key != "clipped_steps" }
        #expect(EpochSums(metadata: older)?.meanGradientNorm == nil)
        var damaged = sums.metadata
        damaged["max_gradient_norm"] = "many"
        #expect(EpochSums(metadata: damaged) == nil)
        #expect(EpochSums(metadata: ["sums": "1.5,2.0,3.0,8.0,1.0"]) ==
                EpochSums(loss: 1.5, reconstruction: 2, kl: 3, images: 8, skippedSteps: 1))
        #expect(EpochSums(metadata: [:]) == EpochSums())
        #expect(EpochSums(metadata: ["sums": "1,2"]) == nil)
        #expect(EpochSums(metadata: ["sum_loss": "x"]) == nil)
    }

    /// config.json as runs wrote it before --limit was kept and the background was typed.
    @Test func anOldConfigStillLoadsAndKeepsItsBackgroundName() throws {
        let old = """
        {"data":{"background":"Gray","channels":1,"fit":"pad","size":16},"dataFolders":["/d"],
         "model":{"channels":1,"initialization":"kaiming","kernel":4,"latent":4,"learnScale":false,"likelihood":"bernoulli",
                  "logScale":-2.3025851,"padding":1,"size":16,"stride":2,"widths":[8,16]},
         "training":{"averageDecay":0.99,"batch":8,"beta":1,"epochs":2,"learningRate":0.001,"maxBadSteps":3,"seed":0,
                     "shards":2,"validationFraction":0.05},"version":1}
        """
        let path = temporaryFolder("vae-oldconfig") + "/config.json"
        try old.write(toFile: path, atomically: false, encoding: .utf8)
        let config = try RunConfig.read(path)
        #expect(config.data.background == .gray && config.data.fit == .pad)
        #expect(config.limit == nil && config.version == 1)
        try config.write(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"background\" : \"gray\"") && text.contains("\"fit\" : \"pad\""))
        #expect(try RunConfig.read(path) == config)
    }
}
