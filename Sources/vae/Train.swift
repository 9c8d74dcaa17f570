// vae train: trains a VAE on a folder of images, writing checkpoints, pictures, metrics and a report.
import ArgumentParser
import Foundation
import ImageIO
import VAE
import VAECore

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a convolutional VAE on a folder of PNG and JPEG images.",
        discussion: """
        Every PNG and JPEG under DATA (searched recursively, told by content, not name) is decoded, converted to --channels, and cropped, padded or stretched to --size × --size. Unreadable files are skipped and listed. After every epoch the run folder gets model.safetensors (PyTorch names and layouts), config.json, the training state, reconstructions.png, samples.png and a line in metrics.jsonl; report.html sums the run up. When training ends (its epochs or --time-limit), a Gaussian mixture is fitted to the training images' codes and saved as prior.safetensors; samples.png is then drawn from it and samples-standard.png from the model's own prior, N(0, I) or the one --prior-mixture learns with the model (see 'vae fit-prior --help').

        Ctrl-C (or kill's SIGTERM, or the terminal closing) finishes the current step, saves a checkpoint and tells how to continue:
          vae train --resume RUN [--epochs N]
        A resumed run gives the same weights, bit for bit, as one that was never stopped. Flags that set the run (model, data preparation, training) may be repeated with --resume when they agree with the saved run; a change is refused and named. A checkpoint cut short by a crash is repaired from the training state.

        The prepared images are cached in --cache (default $VAE_CACHE when set, else Output/cache/; one file per data folder and preparation): a second run on the same folder reads them from there instead of decoding them again, and decodes only the files added or changed since. --no-cache neither reads nor writes it; 'vae cache DATA' prepares one ahead of time. Delete the folder to free its space.

        --out must be a new or empty folder (--force writes into one that holds other files). While training, the run folder is locked: a second 'vae train' into it is refused.

        --schedule cosine (with a --warmup-steps linear warm-up), --kl-warmup, --free-bits and --flip change how the run trains; --time-limit 8m trains for a time instead of a number of epochs. All are saved in config.json, and a resumed run continues them bit for bit.

        The model, unless --preset or --model sets it, is chosen for the images: a sample of them sets --size (their usual side, at most 64) and --channels (1 when all are gray). Gray images get the plain family (4×4 stride-2 convolutions down, transposed convolutions up, a hidden layer of 256, latent 16, batch 128) with the Bernoulli likelihood and a prior of 32 Gaussians learned with the model (--prior-mixture; N(0, I) with --free-bits or --prior-mixture 0); colour images get the residual family (3×3 convolutions and a residual block at each scale at half the plain widths, upsampling up, latent 64, batch 16) with the discretized logistic mixture, a KL warm-up of 2000 steps and a learning rate of 0.0005 (at 0.001 long colour runs blew up). Both keep a constant learning rate, so a run can be extended with --resume --epochs (--schedule cosine to change). These defaults were chosen by training candidates for the same time (README, "How the defaults were chosen"); every flag overrides its part. Presets: fmnist (28×28 gray, latent 16) and rgb64 (64×64 colour, latent 128), the reference configurations. config.json records the model as block lists; --model FILE trains one you wrote (README, "Models as block lists").
        """)

    @Argument(help: "Folder(s) of training images (not needed with --resume).")
    var data: [String] = []

    @Option(help: "A reference model: fmnist or rgb64 (sets size, channels, widths, hidden, latent and batch).")
    var preset: String?

    @Option(help: ArgumentHelp("Model family: plain (4×4 stride-2 convolutions, transposed convolutions up; the default for gray images and presets) or resnet (3×3 convolutions with a residual block at each scale, nearest-neighbour upsampling up; the default for colour).",
                               discussion: "Both take --preset's or --size/--channels/--widths/--hidden/--latent's sizes; resnet's --activation defaults to silu. See README, \"Models as block lists\"."))
    var arch: ModelChoice.Architecture?

    @Option(help: ArgumentHelp("A model described as block lists in a JSON file (a config.json, or its \"model\" section).",
                               discussion: "Replaces --preset, --size, --channels, --latent, --widths, --hidden, --activation and the likelihood flags; see README, \"Models as block lists\"."))
    var model: String?

    @Option(help: "Side of the square training images in pixels (default: the images' usual side, at most 64; or the preset's).")
    var size: Int?

    @Option(help: "1 for gray, 3 for colour (default: 1 when every sampled image is gray, else 3; or the preset's).")
    var channels: Int?

    @Option(help: "Latent dimensions (default: 16 for gray images, 64 for colour; or the preset's).")
    var latent: Int?

    @Option(help: "Encoder convolution widths, comma separated, e.g. 32,64,128 (default: as many as halve --size down to 4–7 px, from 32,64,128,256; for colour images' resnet from 16,32,64,128).")
    var widths: String?

    @Option(help: "Width of a fully connected layer before the latent heads (default: 256 for gray images, none for colour; or the preset's).")
    var hidden: Int?

    @Option(help: "How non-square images become square: crop (centre, the default), pad or stretch.")
    var fit: FitMode?

    @Option(help: "Colour transparent pixels and padding are laid on: white (the default), black, gray or #RRGGBB.")
    var background: String?

    @Option(help: "Total epochs to train (default 10, with --time-limit no cap; with --resume: the total to reach).")
    var epochs: Int?

    @Option(help: "Images per step (default: 128 for gray images, 16 for colour; or the preset's).")
    var batch: Int?

    @Option(help: "Adam learning rate (default 0.001; 0.0005 for colour images when the model is chosen for them).")
    var lr: Float?

    @Option(help: "Weight of the KL term (default 1, the true ELBO; below 1 sharper reconstructions, above 1 a smoother latent space).")
    var beta: Float?

    @Option(help: ArgumentHelp("Pixel likelihood: bernoulli (binary cross-entropy; the default for gray images and presets), gaussian, or logistic (a discretized logistic mixture over the 256 levels, PixelCNN++'s; the default for colour).",
                               discussion: "Only the logistic mixture gives a true likelihood of the 8-bit data; bits/dim under each: README, \"Likelihoods and bits/dim\"."))
    var likelihood: LikelihoodKind?

    @Option(help: "Components of the logistic mixture (with --likelihood logistic; default \(LogisticMixtureLikelihood.defaultMixtures)).")
    var mixtures: Int?

    @Option(help: "Standard deviation of the Gaussian likelihood (with --likelihood gaussian; default 0.1).")
    var gaussianScale: Float?

    @Option(help: ArgumentHelp("Soft-clamp the posterior's mean to ±B and its log σ to ±B, as B·tanh(x/B) (NVAE's soft_clamp5); 0 or absent: none.",
                               discussion: "Near zero the clamp is the identity, and no head can take the KL to infinity. It is not a cure for a run that blows up: on emoji at lr 1e-3 the blow-up still came, and left the codes at the bounds (README, Results)."))
    var latentClamp: Float?

    @Option(help: ArgumentHelp("Learn p(z) with the model: a mixture of this many diagonal Gaussians instead of N(0, I); 0: N(0, I) (default: 32 for gray images, N(0, I) for colour and presets).",
                               discussion: "The KL term then pulls each code towards the nearest components and the components towards the codes (Tomczak & Welling 2018's mixture prior); it is estimated at the drawn z, and the bounds, samples and explorer use the learned prior. Not with --free-bits, which needs the closed-form KL of each dimension.",
                               valueName: "K"))
    var priorMixture: Int?

    @Option(help: ArgumentHelp("Let each pixel's Bernoulli logit also see the pixels before it (raster order) through a masked convolution: linear, or this many hidden channels with ReLU; none: pixels independent given z (default: linear for gray images with the Bernoulli likelihood, none otherwise).",
                               discussion: "p(x | z) becomes Π p(x_i | x_<i, z), as in PixelVAE: z carries the shapes, the term the local texture the decoder blurs. Training sees the data (one masked convolution per step); the mean image and samples fill the pixels one by one in raster order. A hidden layer gives a much better bound but takes over what z carried (README, \"Pixels that see their neighbours\"). Bernoulli likelihood only.",
                               valueName: "none|linear|CHANNELS"))
    var autoregressive: AutoregressiveFlag?

    @Option(help: ArgumentHelp("Side of the autoregressive term's kernel: odd, 3 to 15 (default 5: the 12 pixels before the centre within 2 rows and columns).",
                               valueName: "K"))
    var autoregressiveKernel: Int?

    @Flag(help: "Learn the Gaussian likelihood's standard deviation instead of fixing it.")
    var learnScale = false

    @Option(help: ArgumentHelp("Weight initialisation: kaiming (He-normal weights, zero biases) or pytorch (uniform ±1/√fan_in, PyTorch's default).",
                               discussion: "He-normal keeps the signal's scale through the ReLU layers, so the decoder uses z from the first step and more latent units stay active. On Fashion-MNIST (10 epochs, seeds 0–2) it gave the same mean −ELBO as PyTorch's scheme (239.92 against 239.91 nats) and a 0.9-nat better IWAE bound (237.09 against 237.98)."))
    var initialization: Initialization = .kaiming

    @Option(help: "Activation after every hidden layer: relu (default) or silu (x·σ(x)).")
    var activation: Activation?

    @Option(help: "Random seed (default 0): the same seed gives the same run, whatever the thread count.")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Cut each batch into this many fixed shards (default 2; 1 to the batch size, at most 1,024); kept for --resume.",
                               discussion: "Results depend on the shard count, never on the thread count: each shard runs on one thread with one-thread products. Under mpirun each rank computes a contiguous run of the shards, so -np is at most --shards; give ranks × cores per rank to keep every core busy (a power of two of ranks sends the least: docs/SCALING.md)."))
    var shards: Int?

    @OptionGroup var buckets: BucketOptions

    @Option(help: "Share of the images held out for validation, fixed by the seed (default 0.05).")
    var valFraction: Double?

    @Option(help: "Clip the gradient to this global norm (default: no clipping).")
    var clipNorm: Float?

    @Option(help: ArgumentHelp("Leave out the update of a step whose gradient norm is more than this many times the usual, a running mean over recent steps (default \(Int(TrainOptions.defaultSkipSpikes)); 0 applies every finite step).",
                               discussion: "Long runs can blow up in a step or two: one gradient thousands of times the usual whose update ruins the weights. Leaving those few steps out (as VDVAE does) keeps the run going; the first \(SpikeGuard.defaultSettleSteps) steps only measure the usual norm. Each skipped step is reported and counted in metrics.jsonl (spikeSteps); \(TrainingLoop.defaultMaxSpikesInARow) in a row stop the run with its last good weights.",
                               valueName: "factor"))
    var skipSpikes: Double?

    @Option(help: ArgumentHelp("Decay per step of the moving average of the weights that is validated, drawn and saved (default \(TrainOptions.defaultAverageDecay); 0 keeps the last weights instead).",
                               discussion: "Averaging the weights over the last hundred or so steps (0.99) gives a better test bound than the last step's weights alone: on Fashion-MNIST, 0.8–1.0 nats of −ELBO."))
    var averageDecay: Float?

    @Option(help: "Use at most this many images (the first in sorted order), e.g. for a quick try; kept for --resume.")
    var limit: Int?

    @Option(help: "Refuse images larger than this many megapixels (at most 1000); the loading threads together decode at most this many at once.")
    var maxMegapixels: Double = 100

    @Option(help: ArgumentHelp("Memory the run may take, in GB (default: what the machine has available now, less a tenth).",
                               discussion: "The run works out what it needs (images, weights and optimiser state, workspaces, decoding) before allocating, and stops with the figure and what to change when that is more. When only the images do not fit, they are streamed from the image cache instead: blocks of it in a seeded order, a window of blocks in memory at a time (saved in config.json, so --resume takes the same batches)."))
    var memory: Double?

    @Option(help: "Run folder (default: Output/<data folder name>-<date>-<time>); must be new or empty.")
    var out: String?

    @Flag(help: "Write into an --out folder that holds other files (a previous run's checkpoint there is removed).")
    var force = false

    @Option(help: "Continue the run in this folder where it stopped.")
    var resume: String?

    @OptionGroup(title: "Schedules, free bits, flips and a time limit") var schedules: ScheduleOptions

    @Option(help: ArgumentHelp("What the layer products compute in: fp32, bf16 (bf16 inputs, fp32 sums) or auto (bf16 where the CPU has native bf16 products, AVX512_BF16 or AMX, else fp32; the default for a new run).",
                               discussion: "Weights, Adam, reductions, the loss and the KL stay fp32 either way. The choice is saved in config.json; --resume keeps it (a resumed run is bit-exact within one precision), and bf16 is refused on a CPU without native bf16 products."))
    var precision: Precision?

    @OptionGroup var threads: ThreadOptions
    @OptionGroup(title: "Image cache") var caching: CacheOptions

    func validate() throws {
        if resume == nil && data.isEmpty {
            throw ValidationError("name a folder of images to train on, e.g. 'vae train photos/', or continue a run with --resume RUN")
        }
        if let resume, let out, !Self.samePath(resume, out) {
            throw ValidationError("--out cannot change when resuming: the run stays in \(resume)")
        }
        if resume != nil && force { throw ValidationError("--force is for new runs; --resume continues the run where it is") }
        if let preset, ModelConfig.presets[preset] == nil {
            throw ValidationError("unknown preset '\(preset)': use one of \(ModelConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if let batch, !(1...65536).contains(batch) { throw ValidationError("--batch must be between 1 and 65536") }
        if let shards, !(1...Swift.min(1024, batch ?? 1024)).contains(shards) {
            throw ValidationError("--shards must be between 1 and the batch size (at most 1,024)")
        }
        if let channels, ![1, 3].contains(channels) { throw ValidationError("--channels must be 1 (gray) or 3 (colour)") }
        if let size, !(2...4096).contains(size) { throw ValidationError("--size must be between 2 and 4096") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive") }
        if let beta, !(beta >= 0 && beta.isFinite) { throw ValidationError("--beta must be zero or positive") }
        if let mixtures {
            guard (1...LogisticMixtureLikelihood.maxMixtures).contains(mixtures) else {
                throw ValidationError("--mixtures must be between 1 and \(LogisticMixtureLikelihood.maxMixtures)")
            }
            // Without --likelihood the data decides (logistic for colour): modelConfig checks then.
            if let likelihood, likelihood != .logistic && model == nil && resume == nil {
                throw ValidationError("--mixtures is for --likelihood logistic")
            }
        }
        if let gaussianScale, !(gaussianScale >= 1e-6 && gaussianScale <= 1e6) {
            throw ValidationError("--gaussian-scale must be between 1e-6 and 1e6, e.g. 0.1")
        }
        if let latentClamp, !(latentClamp == 0 || (latentClamp >= 0.1 && latentClamp <= 1000)) {
            throw ValidationError("--latent-clamp must be 0 (none) or between 0.1 and 1000, e.g. 5")
        }
        if let priorMixture, !(0...ModelConfig.maximumPriorMixture).contains(priorMixture) {
            throw ValidationError("--prior-mixture must be 0 (N(0, I)) or between 1 and \(ModelConfig.maximumPriorMixture) components, e.g. 32")
        }
        if let autoregressiveKernel,
           !(AutoregressiveBernoulliLikelihood.kernelRange.contains(autoregressiveKernel) && autoregressiveKernel % 2 == 1) {
            throw ValidationError("--autoregressive-kernel must be odd, between 3 and 15, e.g. 7")
        }
        if autoregressiveKernel != nil && autoregressive == AutoregressiveFlag.none {
            throw ValidationError("--autoregressive-kernel sizes the autoregressive term, which --autoregressive none leaves out")
        }
        if let hidden, !(1...(1 << 24)).contains(hidden) { throw ValidationError("--hidden must be between 1 and 16777216") }
        if let latent, !(1...65536).contains(latent) { throw ValidationError("--latent must be between 1 and 65536") }
        if let epochs, epochs > 1_000_000 { throw ValidationError("--epochs must be at most 1000000") }
        if let clipNorm, !(clipNorm > 0 && clipNorm.isFinite) {
            throw ValidationError("--clip-norm must be a positive number (the largest gradient norm kept), e.g. 100")
        }
        if let skipSpikes, !(skipSpikes == 0 || (skipSpikes >= 2 && skipSpikes <= 1e6)) {
            throw ValidationError("--skip-spikes must be 0 (off) or a factor between 2 and 1000000, e.g. 20")
        }
        if let averageDecay, !(0..<1).contains(averageDecay) {
            throw ValidationError("--average-decay must be at least 0 and below 1, e.g. 0.99")
        }
        if let valFraction, !(0..<1).contains(valFraction) { throw ValidationError("--val-fraction must be at least 0 and below 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        try PixelLimit.validate(maxMegapixels)
        if let memory, !(memory > 0 && memory <= 1_000_000) { throw ValidationError("--memory takes a number of GB above 0 and at most 1000000, e.g. 8") }
        if let background, Background(background) == nil { throw ValidationError("--background takes white, black, gray or #RRGGBB") }
        _ = try modelConfig()
    }

    /// The model these flags describe (nil when resuming); what they leave open comes from the
    /// images' `shape` when known (ModelDefaults), else from 64×64 colour.
    func modelConfig(shape: DataShape? = nil) throws -> ModelConfig? {
        guard resume == nil else { return nil }
        if let model {
            let clashing = [("--preset", preset != nil), ("--size", size != nil), ("--channels", channels != nil),
                            ("--latent", latent != nil), ("--widths", widths != nil), ("--hidden", hidden != nil),
                            ("--arch", arch != nil),
                            ("--activation", activation != nil), ("--likelihood", likelihood != nil),
                            ("--gaussian-scale", gaussianScale != nil), ("--learn-scale", learnScale),
                            ("--mixtures", mixtures != nil), ("--latent-clamp", latentClamp != nil),
                            ("--prior-mixture", priorMixture != nil), ("--autoregressive", autoregressive != nil),
                            ("--autoregressive-kernel", autoregressiveKernel != nil)].filter(\.1).map(\.0)
            guard clashing.isEmpty else {
                throw ValidationError("--model describes the whole model: drop \(clashing.joined(separator: ", "))")
            }
            do { return try ModelChoice.read(file: model) } catch { throw ValidationError("\(error)") }
        }
        var choice = ModelChoice()
        (choice.preset, choice.size, choice.channels, choice.latent, choice.hidden) = (preset, size, channels, latent, hidden)
        let defaults = self.defaults(shape: shape)
        if let defaults {
            (choice.size, choice.channels) = (size ?? shape?.size, channels ?? shape?.channels)
            choice.latent = latent ?? defaults.latent
            // The default widths and hidden layer belong to the default family.
            if arch == nil || arch == defaults.architecture { choice.hidden = hidden ?? defaults.hidden }
        }
        if let widths {
            let parsed = widths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--widths takes positive whole numbers separated by commas, e.g. 32,64,128")
            }
            choice.widths = parsed.map { $0! }
        } else if let defaults, arch == nil || arch == defaults.architecture {
            choice.widths = defaults.widths
        }
        let chosen = likelihood ?? defaults?.likelihood ?? .bernoulli
        if mixtures != nil && chosen != .logistic {
            throw ValidationError("--mixtures is for --likelihood logistic (these images get \(chosen.rawValue) unless you ask)")
        }
        (choice.likelihood, choice.gaussianScale) = (chosen, gaussianScale ?? 0.1)
        choice.learnScale = learnScale
        choice.mixtures = mixtures
        choice.latentClamp = latentClamp ?? defaults?.latentClamp
        // Free bits need N(0, I): given alone, they keep the default's learned prior out.
        let freeBits = (schedules.freeBits ?? 0) > 0
        choice.priorMixture = priorMixture ?? (freeBits ? nil : defaults?.priorMixture)
        // Before the images are read (shape nil) the defaults are colour's: an unasked-for likelihood
        // is checked again once the images say what they are.
        let provisional = shape == nil && channels == nil && likelihood == nil && defaults != nil
        choice.autoregressive = provisional ? nil : try autoregressiveTerm(likelihood: chosen, defaults: defaults)
        choice.initialization = initialization
        choice.architecture = arch ?? defaults?.architecture ?? .plain
        choice.activation = activation ?? choice.architecture.defaultActivation
        do { return try choice.config() } catch { throw ValidationError("\(error)") }
    }

    /// The autoregressive term the flags ask for: given channels win; else the defaults' term when
    /// the likelihood is Bernoulli (a --likelihood other than the default's leaves it out).
    func autoregressiveTerm(likelihood: LikelihoodKind, defaults: ModelDefaults?) throws -> ModelConfig.Autoregressive? {
        if let autoregressive {
            guard let hidden = autoregressive.hidden else { return nil }
            guard likelihood == .bernoulli else {
                throw ValidationError("--autoregressive works with the bernoulli likelihood only, not \(likelihood.rawValue)")
            }
            return .init(kernel: autoregressiveKernel ?? defaults?.autoregressive?.kernel ?? ModelConfig.Autoregressive.defaultKernel,
                         channels: hidden)
        }
        guard likelihood == .bernoulli, var term = defaults?.autoregressive else {
            if autoregressiveKernel != nil {
                throw ValidationError("--autoregressive-kernel needs --autoregressive CHANNELS (these images get no autoregressive term unless you ask)")
            }
            return nil
        }
        if let autoregressiveKernel { term.kernel = autoregressiveKernel }
        return term
    }

    func run() throws {
        let cluster: Cluster?
        do { cluster = try Cluster.start() } catch { throw RunFailure("\(error)") }
        guard let cluster else { return try train(rank: nil) }
        let rank = RankFolder(cluster: cluster)
        // Rank 0 speaks for the job: the others' ordinary messages (printed before the session
        // exists, too) go nowhere; their errors still reach stderr.
        if cluster.rank != 0 { freopen("/dev/null", "w", stdout) }
        do {
            try train(rank: rank)
        } catch let exit as ExitCode {
            rank.cleanUp()
            cluster.finish()
            throw exit
        } catch {
            rank.fail(error)
        }
        rank.cleanUp()
        cluster.finish()
    }

    /// One process's training; under mpirun, `rank` says where this rank trains and rank 0 alone speaks.
    func train(rank: RankFolder?) throws {
        let speaks = rank?.cluster.rank ?? 0 == 0
        var resources = TrainingSession.Resources(threads: threads.threads,
                                                  decode: DecodeOptions(maxPixels: PixelLimit.pixels(maxMegapixels)),
                                                  progress: ProgressLine(silent: !speaks),
                                                  say: { if speaks { print($0) } }, warn: { if speaks { warn($0) } },
                                                  memoryBudget: memory.map { Int($0 * 1e9) } ?? MemoryPlan.defaultBudget(),
                                                  cache: caching.chosen)
        if let rank { resources.agree = { rank.cluster.broadcast($0, from: 0) } }
        if rank == nil && buckets.bucketMb != nil { warn("note: --bucket-mb applies under mpirun only; one process has no gradient to send") }
        let session: TrainingSession
        do {
            if let resume {
                session = try TrainingSession.resume(try rank?.resumePath(resume) ?? resume, epochs: epochs, data: data, limit: limit,
                                                     fixed: try fixedSettings(), resources: resources)
            } else {
                let path = out ?? RunFolder.defaultPath(for: data[0])
                session = try TrainingSession.start(try newRunConfig(), data: data, in: rank?.newRunPath(path) ?? path,
                                                    force: force || (rank?.scratch != nil), resources: resources)
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw RunFailure("\(error)")
        }
        if let rank {
            // With a time limit every decision the clock makes (the budget spent, the cosine's
            // step count) must be the same on every rank: all read rank 0's clock. The loop reads
            // it at the same points on every rank, so each read is one broadcast.
            if session.config.training.timeLimit != nil {
                let cluster = rank.cluster, local = session.loop.clock
                session.loop.clock = { cluster.broadcast(local(), from: 0) }
            }
            // A rank beyond the shard count would have no work: refused rather than idle.
            guard rank.cluster.size <= session.trainer.shards else {
                throw RunFailure("mpirun -np \(rank.cluster.size): each batch is cut into \(session.trainer.shards) shards "
                                 + "(training.shards in config.json), one rank's work at least; run at most \(session.trainer.shards) ranks")
            }
            do { try session.trainer.attach(rank.cluster, bucketFloats: buckets.floats) } catch { throw RunFailure("\(error)") }
            if rank.cluster.rank == 0 {
                let sizes = session.trainer.bucketSizes, when = rank.cluster.threadsMayCall
                    ? "each started as soon as the backward pass has finished its layers"
                    : "after the backward pass (Open MPI did not grant MPI_THREAD_SERIALIZED)"
                print("mpirun: \(rank.cluster.size) ranks, \(session.trainer.shards) shards; the gradient is summed across ranks in "
                      + "\(sizes.count) bucket\(sizes.count == 1 ? "" : "s"), \(when)")
            }
        }
        let outcome: TrainingSession.Outcome
        do {
            outcome = try session.run()
        } catch {
            throw RunFailure("\(error)")
        }
        switch outcome {
        case .finished, .alreadyTrained: return
        case .interrupted: throw ExitCode(128 + (StopRequest.received ?? SIGINT))  // the shell's status for that signal
        case .diverged: throw ExitCode(2)
        }
    }

    /// The defaults for these images when neither --preset nor --model sets the model.
    func defaults(shape: DataShape?) -> ModelDefaults? {
        guard preset == nil && model == nil && resume == nil else { return nil }
        return ModelDefaults.choice(channels: channels ?? shape?.channels ?? 3, size: size ?? shape?.size ?? 64)
    }

    /// The images' side and colour, from a sample of them, when a flag leaves either open.
    func probeData() -> DataShape? {
        guard preset == nil && model == nil && (size == nil || channels == nil) else { return nil }
        guard let shape = DataShape.probe(data, options: DecodeOptions(maxPixels: PixelLimit.pixels(maxMegapixels))) else {
            return nil
        }
        let flags = [size == nil ? "--size \(shape.size)" : nil, channels == nil ? "--channels \(shape.channels)" : nil]
        print("images: \(shape.description) from the \(shape.sampled) sampled (\(flags.compactMap { $0 }.joined(separator: " ")); "
              + "set --size or --channels to change)")
        return shape
    }

    /// The settings of a new run, from the flags and their defaults.
    func newRunConfig() throws -> RunConfig {
        let shape = probeData()
        guard let model = try modelConfig(shape: shape) else { throw ValidationError("name a folder of images to train on") }
        let defaults = self.defaults(shape: shape)
        var t = TrainOptions()
        t.epochs = epochs ?? 10
        t.batch = batch ?? preset.flatMap { ModelConfig.presetBatch[$0] } ?? defaults?.batch ?? 64
        t.learningRate = lr ?? defaults?.learningRate ?? t.learningRate
        t.beta = beta ?? t.beta
        t.seed = seed ?? t.seed
        t.shards = shards ?? t.shards
        t.validationFraction = valFraction ?? t.validationFraction
        t.clipNorm = clipNorm
        let skip = skipSpikes ?? TrainOptions.defaultSkipSpikes
        t.skipSpikes = skip > 0 ? skip : nil
        let decay = averageDecay ?? TrainOptions.defaultAverageDecay
        t.averageDecay = decay > 0 ? decay : nil
        schedules.apply(to: &t, epochs: epochs, defaults: defaults)
        do {
            let choice = try PrecisionChoice.resolve(precision ?? .auto)
            t.precision = choice.precision
            print("precision \(choice.reason)")
        } catch {
            throw RunFailure("\(error)")
        }
        let preparation = ImagePreparation(size: model.size, channels: model.channels, fit: fit ?? .crop,
                                           background: background.flatMap(Background.init) ?? .white)
        let absolute = data.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        return RunConfig(model: model, data: preparation, training: t, dataFolders: absolute, limit: limit)
    }

    /// Whether two paths name one folder.
    static func samePath(_ a: String, _ b: String) -> Bool {
        let resolve = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        return resolve(a) == resolve(b)
    }
}

extension FitMode: ExpressibleByArgument {}
extension LikelihoodKind: ExpressibleByArgument {}
extension Initialization: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension ModelChoice.Architecture: ExpressibleByArgument {}

/// --autoregressive's value: none, linear (no hidden layer) or a number of hidden channels.
struct AutoregressiveFlag: ExpressibleByArgument, Equatable {
    /// nil: no term; 0: linear.
    var hidden: Int?
    static let none = AutoregressiveFlag(hidden: nil)

    init(hidden: Int?) { self.hidden = hidden }

    init?(argument: String) {
        switch argument.lowercased() {
        case "none", "0": hidden = nil
        case "linear": hidden = 0
        default:
            guard let n = Int(argument), (1...AutoregressiveBernoulliLikelihood.maximumHidden).contains(n) else { return nil }
            hidden = n
        }
    }
}
