// vae evaluate: negative ELBO, importance-weighted bound, KL and active units on a folder of images.
import ArgumentParser
import Foundation
import VAE

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure how well a trained model explains a folder of images.",
        discussion: """
        Reports, per image: the negative ELBO with one z per image, and the importance-weighted bound on −log p(x) with --k samples (IWAE, Burda et al. 2015; tighter as k grows), in nats and in bits per dimension; the mean KL(q(z|x) ‖ p(z)) (in closed form for N(0, I); for a prior learned with --prior-mixture, log q(z|x) − log p(z) at the one z, which has no closed form); and the number of active latent units (variance of the posterior mean over the data above 0.01). Lower is better.

        The test images are prepared once and kept in the image cache (--cache, default Output/cache/; --no-cache to neither read nor write it), as 'vae train' does.

        --prior fitted also bounds, from the same samples, the model with the run's fitted prior in place of N(0, I) (prior.safetensors, the Gaussian mixture fitted to the training images' posterior means at the end of 'vae train', which 'vae sample' draws from by default): fitted_neg_elbo (its KL a Monte Carlo mean over the k samples) and fitted_iwae_kK. Expect them to be worse than N(0, I)'s: the mixture is fitted to the means, which cluster tighter than the posterior's draws, and it gives the latent dimensions the model does not use almost no spread, where q(z|x) draws spread as N(0, 1). That is what makes its samples sharp, not what makes a good likelihood.

        bits/dim is a log-likelihood of the 8-bit pixels under --likelihood logistic, and under gaussian with the dequantisation correction (+ ln 255 nats per dimension); under bernoulli (on intensities) it is the cross-entropy per dimension and not a likelihood of the 8-bit data.
        """)

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Argument(help: "Folders or files of test images.")
    var data: [String]

    @Option(help: "Importance samples per image for the IWAE bound (0 skips it).")
    var k: Int = 100

    @Option(help: "Random seed for the samples.")
    var seed: UInt64 = 1

    @Option(help: "Evaluate at most this many images.")
    var limit: Int?

    @Flag(help: "Take the reconstruction term at z = μ(x) instead of a random draw: the same figure every time, but not a bound on −log p(x) (python/swiftvae.py's neg_elbo with eps = 0 gives it too).")
    var atMean = false

    @Option(help: ArgumentHelp("standard (the model's own prior, the default: N(0, I), or the mixture --prior-mixture learned) or fitted (also bound the model with RUN/prior.safetensors as its prior).",
                               valueName: "prior"))
    var prior: PriorChoice?

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(help: ArgumentHelp("Memory for the test images, in GB (default: half of what the machine has available now).",
                               discussion: "Images larger than this are streamed from the image cache (read in order, a little at a time) instead of held; the figures are the same either way."))
    var memory: Double?

    @OptionGroup var threads: ThreadOptions
    @OptionGroup var precision: PrecisionOptions
    @OptionGroup(title: "Image cache") var caching: CacheOptions

    func validate() throws {
        if let memory, !(memory > 0 && memory <= 1_000_000) { throw ValidationError("--memory takes a number of GB above 0 and at most 1000000, e.g. 8") }
        guard (0...100_000).contains(k) else { throw ValidationError("--k must be between 0 and 100000") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if prior == .fitted && k == 0 { throw ValidationError("--prior fitted bounds the model from the importance samples: give --k 1 or more") }
    }

    /// What the bits/dim above are, per likelihood (README, "Likelihoods and bits/dim").
    static let bitsNote: [LikelihoodKind: String] = [
        .logistic: "bits/dim: -log2 P of the 8-bit pixels per dimension under the discretized logistic mixture, a true likelihood of the data",
        .gaussian: "bits/dim: of the 8-bit pixels, the Gaussian density's -log p on the values k/255 plus ln 255 per dimension "
            + "(dequantisation: each level's bin is 1/255 wide; sound while the scale is well above 1/255); the nats are the density's",
        .bernoulli: "bits/dim: Bernoulli cross-entropy per dimension on intensities, NOT a likelihood of the 8-bit data "
            + "(compare it only with other Bernoulli models; --likelihood logistic gives one)",
    ]

    func run() throws {
        let model = try loadModel(runFolder, threads: threads.threads, precision: precision, quietStdout: json)
        let mixture = prior == .fitted ? try PriorChoice.mixture(.fitted, in: runFolder, for: model) : nil
        let prep = try dataPreparation(of: model, in: runFolder)
        let progress = ProgressLine()
        let start = Date()
        let budget = memory.map { Int($0 * 1e9) } ?? MemoryPlan.defaultBudget() / 2
        let dataset = try ImageDataset(folders: data, preparation: prep, threads: threads.threads, limit: limit,
                                       cache: caching.chosen, admit: { $0 * model.network.config.imageFloats > budget }, progress: { done, total in
            progress.update("loading \(done)/\(total) images", force: done == total)
        })
        progress.finish()
        if let note = dataset.skippedSummary() { warn(note) }
        // On stderr, so that --json's output stays JSON.
        for line in dataset.cacheReport?.lines ?? [] { warn(line) }
        if dataset.streamed {
            warn("streaming the images from \(dataset.cacheReport?.path ?? "the cache") "
                 + "(\(MemoryPlan.describe(dataset.bytes.count)), over the \(MemoryPlan.describe(budget)) memory budget)")
        }
        let result = model.evaluate(dataset, k: k, seed: seed, atMean: atMean, prior: mixture) { done, total in
            let rate = Double(done) / Date().timeIntervalSince(start)
            progress.update(String(format: "evaluating %d/%d images (k = %d) %.0f img/s", done, total, k, rate),
                            force: done == total)
        }
        progress.finish()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        print("images \(result.images) (\(result.dimensions) dimensions each)")
        // bits/dim of the 8-bit data where the likelihood gives one, else Bernoulli's cross-entropy per dimension.
        let bits = { (nats: Double) in result.dataBitsPerDimension(nats) ?? result.bitsPerDimension(nats) }
        print(String(format: "neg_elbo%@ %.2f nats  %.4f bits/dim  (reconstruction %.2f + KL %.2f)", atMean ? " (at z = mean)" : "",
                     result.negativeELBO, bits(result.negativeELBO), result.reconstruction, result.kl))
        if let iwae = result.iwae {
            print(String(format: "iwae_k%d %.2f nats  %.4f bits/dim", result.k, iwae, bits(iwae)))
        }
        if let f = result.fitted {
            print("fitted prior: \(f.components) component\(f.components == 1 ? "" : "s") (\(SavedPrior.file), fitted to the training "
                  + "images' codes; what 'vae sample' draws from), the same \(result.k) samples:")
            print(String(format: "fitted_neg_elbo %.2f nats  %.4f bits/dim  (KL to the fitted prior %.2f, a Monte Carlo mean)",
                         f.negativeELBO, bits(f.negativeELBO), f.kl))
            print(String(format: "fitted_iwae_k%d %.2f nats  %.4f bits/dim", result.k, f.iwae, bits(f.iwae)))
        }
        print(Self.bitsNote[result.likelihood]!)
        print("active_units \(result.activeUnits) of \(result.latent)")
        print(String(format: "seconds %.1f", Date().timeIntervalSince(start)))
    }
}
