// TrainingSession: one `vae train`: the locked run folder, the data, the trainer and the loop, and what each epoch leaves behind.
import Foundation
import ImageIO
import VAECore

public final class TrainingSession {
    public let folder: RunFolder
    /// The run's settings; a time-limited run adds its estimated step count (saved in config.json).
    public internal(set) var config: RunConfig
    public let batches: ImageBatches
    public let trainer: Trainer
    public let loop: TrainingLoop
    public let resumed: Bool
    /// The weights validated, drawn and saved: the moving average when there is one.
    let viewer: Model
    let validation: ImageDataset
    let progress: ProgressLine
    /// Ordinary messages (stdout in the tool) and warnings (stderr).
    let say: (String) -> Void
    let warn: (String) -> Void

    public enum Outcome: Equatable { case finished, interrupted, diverged, alreadyTrained }

    /// How a session loads and computes; none of it changes the result.
    public struct Resources {
        public var threads: Int
        public var decode: DecodeOptions
        public var progress: ProgressLine
        public var say: (String) -> Void
        public var warn: (String) -> Void
        /// Bytes the run may take; it is refused before allocating when it would need more.
        public var memoryBudget: Int
        /// Where the prepared images are cached (nil: decoded every time, nothing written).
        public var cache: DatasetCache?
        /// Under mpirun, rank 0's value of a number every rank must agree on (the stream's
        /// window); the value itself in a plain process.
        public var agree: (Int) -> Int = { $0 }

        public init(threads: Int, decode: DecodeOptions = DecodeOptions(), progress: ProgressLine = ProgressLine(),
                    say: @escaping (String) -> Void = { print($0) }, warn: @escaping (String) -> Void = { print($0) },
                    memoryBudget: Int = MemoryPlan.defaultBudget(), cache: DatasetCache? = nil) {
            (self.threads, self.decode, self.progress, self.say, self.warn) = (threads, decode, progress, say, warn)
            (self.memoryBudget, self.cache) = (memoryBudget, cache)
        }
    }

    /// A new run of `config` in `path` (created; refused when it holds other files, unless
    /// `force`), on the images under `data` (as typed; `config.dataFolders` holds them absolute).
    public static func start(_ config: RunConfig, data: [String], in path: String, force: Bool,
                             resources: Resources) throws -> TrainingSession {
        if let problem = config.problem { throw RunError.invalid(problem) }
        var config = config
        if config.runID == nil { config.runID = RunConfig.newRunID() }
        // A run folder is never data: one made in (or above) a data folder would hide the images.
        let resolve = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        let out = resolve(path)
        for folder in data.map(resolve) where folder == out || folder.hasPrefix(out.hasSuffix("/") ? out : out + "/") {
            throw RunError.invalid("\(path): \(folder == out ? "is the image folder itself" : "holds the image folder \(folder)"); "
                                   + "choose an --out outside the data")
        }
        let folder = try RunFolder.newRun(at: path, force: force)
        return try TrainingSession(folder: folder, config: config, data: data, resuming: false, resources: resources)
    }

    /// Continues the run in `path`, up to `epochs` in all when given, on `data` when given (else
    /// the saved folders). Each of `fixed` must agree with the saved settings.
    public static func resume(_ path: String, epochs: Int?, data: [String], limit: Int?, fixed: [FixedSetting],
                              resources: Resources) throws -> TrainingSession {
        let folder = try RunFolder.existingRun(at: path)
        var config = try folder.readConfig()
        if let problem = config.problem { throw RunError.corrupt(path: folder.file(Checkpoint.configFile), reason: problem) }
        var checks = fixed
        // Runs saved before config.json kept --limit cannot say what it was: the flag is taken as given.
        if let limit, config.version >= RunConfig.limitVersion {
            checks.append(FixedSetting("--limit", given: limit, saved: \.limit, show: { $0.map(String.init) ?? "none" }))
        } else if let limit {
            config.limit = limit
        }
        // From here on config.json says whether a limit applies.
        config.version = Swift.max(config.version, RunConfig.limitVersion)
        // A cosine is laid over the saved length: another --epochs would bend it.
        if let epochs, config.training.scheduleKind == .cosine {
            checks.append(FixedSetting("--epochs (the cosine schedule is laid over the saved length; a run with --schedule constant can be extended)",
                                      given: epochs, saved: \.training.epochs))
        }
        let conflicts = checks.compactMap { $0.conflict(with: config) }
        guard conflicts.isEmpty else { throw ResumeConflict(folder: path, conflicts: conflicts) }
        if let epochs { config.training.epochs = epochs }
        return try TrainingSession(folder: folder, config: config, data: data.isEmpty ? config.dataFolders : data,
                                   resuming: true, resources: resources)
    }

    /// The run's saved precision, when this machine can run it: bf16 needs native bf16 products,
    /// and a resumed run cannot change precision and stay bit-exact.
    static func runnablePrecision(_ precision: Precision, folder: RunFolder, resuming: Bool) throws -> Precision {
        guard precision == .bf16 else { return .fp32 }
        do {
            return try PrecisionChoice.resolve(.bf16).precision
        } catch {
            let reason = "\(error)".replacingOccurrences(of: "--precision bf16: ", with: "")
                .replacingOccurrences(of: "; use --precision fp32 or auto", with: "")
            throw RunError.invalid("\(folder.path): the run trains in bf16 (training.precision in config.json), but \(reason)"
                + (resuming ? "; continue it on a machine with AVX512_BF16 or AMX, or train a new run" : ""))
        }
    }

    init(folder: RunFolder, config: RunConfig, data: [String], resuming: Bool, resources: Resources) throws {
        (self.folder, self.resumed) = (folder, resuming)
        (progress, say, warn) = (resources.progress, resources.say, resources.warn)
        try Self.checkMemory(config, images: 0, resources: resources)
        let dataset = try Self.load(data, config: config, resources: resources)
        batches = ImageBatches(dataset: dataset, validationFraction: config.training.validationFraction, seed: config.training.seed)
        var config = config
        batches.streaming = try Self.streamingOrder(config, batches: batches, resuming: resuming, resources: resources)
        config.training.stream = batches.streaming
        // The schedule's defaults and step count are settled now that the steps per epoch are known.
        config.training = config.training.resolved(stepsPerEpoch: batches.batchesPerEpoch(batchSize: config.training.batch))
        self.config = config
        // Written once the images load (a folder whose data failed stays empty) and before any
        // step, so that a run stopped before its first checkpoint can be resumed.
        try folder.writeConfig(config)
        let t = config.training
        guard !batches.trainIndices.isEmpty else { throw RunError.invalid("no images left to train on after the validation split") }
        let network = Network(config: config.model)
        let averaging = (t.averageDecay ?? 0) > 0
        // A run stopped before its first checkpoint starts again from its seed.
        let point = resuming && folder.hasTrainingState ? try folder.resumePoint(network: network, averaging: averaging) : nil
        trainer = Trainer(network: network, batch: t.batch, seed: t.seed,
                          adam: AdamSettings(learningRate: t.learningRate), beta: t.beta, shards: t.shards,
                          threads: resources.threads, params: point?.params, averageDecay: t.averageDecay, average: point?.average)
        trainer.clipNorm = t.clipNorm
        trainer.freeBits = t.freeBits
        trainer.precision = try Self.runnablePrecision(t.runPrecision, folder: folder, resuming: resuming)
        trainer.configureBLAS()
        if let saved = point?.state.runID, let id = config.runID, saved != id {
            throw RunError.corrupt(path: folder.file(Checkpoint.stateFile), reason: "belongs to another run (run id \(saved); "
                + "this run's config.json says \(id)): it cannot continue this run")
        }
        var state = point?.state ?? TrainingState()
        point?.restore(trainer.adam)
        let fingerprint = DataFingerprint.of(paths: dataset.paths, folders: data)
        if let point, !DataFingerprint.matches(saved: point.state.dataFingerprint, current: fingerprint) {
            resources.warn("warning: the image folder changed since this run was saved; the data order will differ")
        }
        state.dataFingerprint = fingerprint
        let source: BatchSource = t.flips ? HorizontalFlips(batches, seed: t.seed, width: config.model.size) : batches
        loop = TrainingLoop(trainer: trainer, source: source, batchSize: t.batch, epochs: t.epochs,
                            maxBadSteps: t.maxBadSteps, state: state)
        loop.schedule = t.trainingSchedule
        loop.spikeGuard = t.skipSpikes.map(SpikeGuard.init)
        guard state.batchInEpoch <= loop.stepsPerEpoch else {
            throw RunError.corrupt(path: folder.file(Checkpoint.stateFile), reason: "batch \(state.batchInEpoch) of an epoch "
                + "of \(loop.stepsPerEpoch) batches: the training state does not fit these images and this batch size")
        }
        if let point, point.modelIsStale {
            try folder.rewriteModel(config: config, network: network, weights: point.average ?? point.params, state: point.state)
            resources.warn("note: \(Checkpoint.modelFile) was not from the training state's checkpoint (epoch \(point.state.epoch), "
                + "step \(point.state.step); a save was cut short): written again from it")
        }
        validation = batches.validationSet
        // Copying the held-out images read their pages: streamed, they go again.
        if dataset.streamed { dataset.bytes.release(0..<dataset.bytes.count) }
        viewer = Model(network: network, params: trainer.average ?? trainer.params, threads: resources.threads, chunk: Self.viewerChunk)
        viewer.precision = trainer.precision
        loop.delegate = self
    }

    static func load(_ data: [String], config: RunConfig, resources: Resources) throws -> ImageDataset {
        let start = Date(), progress = resources.progress
        defer { progress.finish() }     // also when loading fails, before the error is printed
        let dataset = try ImageDataset(folders: data, preparation: config.data, threads: resources.threads,
                                       options: resources.decode, limit: config.limit, cache: resources.cache,
                                       admit: { try admit(config, images: $0, resources: resources) }) { done, total in
            let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
            progress.update(String(format: "loading images %d/%d (%.0f files/s)", done, total, rate), force: done == total)
        }
        progress.finish()
        if let note = dataset.skippedSummary() { resources.warn(note) }
        for line in dataset.cacheReport?.lines ?? [] { line.hasPrefix("warning") ? resources.warn(line) : resources.say(line) }
        return dataset
    }

    /// Images the viewer encodes at a time. The encoder's products round by their size, so
    /// `vae fit-prior` encodes in chunks of this size too and gets the codes training's end got.
    public static let viewerChunk = 32

    /// The images of a saved run split as its training was: its folders, --limit and validation
    /// split (the same images only while the folders hold the same files).
    public static func images(of config: RunConfig, threads: Int, cache: DatasetCache? = nil,
                              warn: @escaping (String) -> Void) throws -> ImageBatches {
        let dataset = try load(config.dataFolders, config: config, resources: Resources(threads: threads, warn: warn, cache: cache))
        return ImageBatches(dataset: dataset, validationFraction: config.training.validationFraction, seed: config.training.seed)
    }

    /// Refuses the run, before anything large is allocated, when it would take more than the budget.
    static func checkMemory(_ config: RunConfig, images: Int, resources: Resources) throws {
        let t = config.training
        let plan = MemoryPlan.training(model: config.model, batch: t.batch, shards: t.shards, threads: resources.threads,
                                       images: images, averaging: (t.averageDecay ?? 0) > 0,
                                       decodePixels: resources.decode.maxPixels)
        try plan.check(budget: resources.memoryBudget,
                       advice: "use a smaller --batch, --size or model, fewer images (--limit) or --threads, or raise --memory")
    }

    /// Whether `images` fit the budget in memory (false), or must be streamed from the image cache
    /// (true: then the held-out images, copied, and three windows of one block must fit); throws when neither.
    static func admit(_ config: RunConfig, images: Int, resources: Resources) throws -> Bool {
        do {
            try checkMemory(config, images: images, resources: resources)
            return false
        } catch let error as MemoryError {
            guard resources.cache != nil else {
                throw MemoryError(description: error.description + " (or leave out --no-cache: images larger than the budget "
                                  + "are then streamed from the image cache on disk)")
            }
            let heldOut = Int((Double(images) * config.training.validationFraction).rounded(.up))
            try checkMemory(config, images: heldOut + 3 * CacheFile.blockImages(recordBytes: config.model.imageFloats), resources: resources)
            return true
        }
    }

    /// A streamed run's order: the saved one when it resumes; for a new run, windows as large as
    /// the budget leaves room for (three at a time can be resident: a batch that straddles two
    /// windows has the window after it read ahead). nil: the images are in memory and shuffled whole.
    static func streamingOrder(_ config: RunConfig, batches: ImageBatches, resuming: Bool,
                               resources: Resources) throws -> QuasiRandomOrder? {
        let dataset = batches.dataset
        if resuming {
            if let saved = config.training.stream { return saved }
            guard !dataset.streamed else {
                throw RunError.invalid("this run trained with its images in memory, and they no longer fit the "
                                       + "\(MemoryPlan.describe(resources.memoryBudget)) memory budget; raise --memory to resume it "
                                       + "(streamed, the images would come in another order)")
            }
            return nil
        }
        var window = 0
        if dataset.streamed {
            let per = dataset.imageFloats, blockImages = CacheFile.blockImages(recordBytes: per)
            let t = config.training
            let plan = MemoryPlan.training(model: config.model, batch: t.batch, shards: t.shards, threads: resources.threads,
                                           images: batches.validationIndices.count, averaging: (t.averageDecay ?? 0) > 0)
            let blocks = (dataset.count + blockImages - 1) / blockImages
            window = Swift.min(blocks, Swift.max(1, (resources.memoryBudget - plan.total) / (3 * blockImages * per)))
        }
        window = resources.agree(window)
        return window > 0 ? QuasiRandomOrder(blockImages: CacheFile.blockImages(recordBytes: dataset.imageFloats), window: window) : nil
    }

    public var state: TrainingState { loop.state }

    /// Trains to the configured number of epochs, or until Ctrl-C or divergence.
    public func run() throws -> Outcome {
        if resumed && loop.state.epoch >= config.training.epochs {
            say("\(folder.path) has already trained \(loop.state.epoch) epochs; pass --epochs with a larger total to train further")
            return .alreadyTrained
        }
        if resumed && loop.isComplete, let limit = config.training.timeLimit {
            say("\(folder.path) has already used its time limit (\(DurationText.text(limit))); start a new run to train longer")
            return .alreadyTrained
        }
        let m = config.model, dataset = batches.dataset
        say("\(resumed ? "resuming" : "training") in \(folder.path): \(dataset.count) images "
            + "(\(batches.trainIndices.count) train, \(batches.validationIndices.count) validation), "
            + "\(m.size)×\(m.size)×\(m.channels), \(m.summary), "
            + "\(trainer.network.parameterCount) parameters, batch \(config.training.batch), \(trainer.precision.rawValue), "
            + config.training.lengthSummary + config.training.scheduleSummary
            + (resumed ? " (from epoch \(loop.state.epoch + 1))" : ""))
        if let stream = batches.streaming {
            let per = dataset.imageFloats
            say("streaming the images from \(dataset.cacheReport?.path ?? "memory") (\(MemoryPlan.describe(dataset.count * per))"
                + (dataset.streamed ? ", over the memory budget" : "") + "): blocks of \(stream.blockImages) images in a seeded order, "
                + "shuffled \(stream.window) block\(stream.window == 1 ? "" : "s") (\(MemoryPlan.describe(stream.window * stream.blockImages * per))) at a time")
        }
        try folder.metrics.trim(after: loop.state.epoch)
        let outcome = try StopRequest.catchingInterrupt { requested in
            // Under mpirun a signal may reach one rank only: every rank must stop at the same step.
            loop.stopRequested = { [trainer] in trainer.cluster.map { $0.any(requested()) } ?? requested() }
            return try loop.run()
        }
        // The last windows' pages are not needed for what follows (pictures, the prior), which
        // the budget did not plan beside them.
        if batches.dataset.streamed { batches.dataset.bytes.release(0..<batches.dataset.bytes.count) }
        switch outcome {
        case .finished:
            if loop.timeLimitReached {
                say("time limit reached: \(loop.state.step) steps in \(ProgressLine.duration(loop.state.trainSeconds)) of training")
            }
            guard config.model.latent <= PriorFit.maxDimension else {
                say("no prior fitted: the latent has \(config.model.latent) dimensions, above \(PriorFit.maxDimension); samples are from \(config.model.ownPriorName)")
                let kl = try folder.writeLatentViews(model: viewer, batches: batches)
                try folder.writeReport(config: config, parameterCount: viewer.network.parameterCount, images: batches.dataset.count,
                                       validationImages: batches.validationIndices.count, skippedFiles: batches.dataset.skipped.count,
                                       latentKL: kl.isEmpty ? nil : kl)
                say("done: \(folder.path)/report.html, reconstructions.png, samples.png, \(RunFolder.traversalFile), "
                    + "\(RunFolder.interpolationFile), model.safetensors")
                return .finished
            }
            let prior = try folder.fitPrior(model: viewer, batches: batches, config: config,
                                            stamp: ModelStamp(epoch: loop.state.epoch, step: loop.state.step), threads: viewer.threads,
                                            progress: { self.progress.update("fitting the prior: " + $0.summary, force: true) })
            progress.finish()
            say(prior.summary(own: config.model.ownPriorName))
            say("done: \(folder.path)/report.html, reconstructions.png, samples.png (fitted prior), "
                + "\(RunFolder.standardSamplesFile), \(RunFolder.traversalFile), \(RunFolder.interpolationFile), "
                + "model.safetensors, \(SavedPrior.file)")
            return .finished
        case .interrupted: return .interrupted
        case .diverged: return .diverged
        }
    }
}
