// vae fit-prior: fits the sampling prior of an existing run folder, as the end of 'vae train' does.
import ArgumentParser
import Foundation
import VAE

struct FitPrior: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-prior",
        abstract: "Fit a Gaussian mixture to a trained model's codes, the prior 'vae sample' draws from.",
        discussion: """
        Encodes the run's training images (its data folders, --limit and validation split, from config.json) to their posterior means and fits a Gaussian mixture to them by EM; the number of components (from 1, 2, 4, 8, 16, 32) and full or diagonal covariance are chosen by the log-likelihood of the held-out images' codes. Writes RUN/prior.safetensors, samples.png (from it), samples-standard.png (from N(0, I)), traversal.png and interpolation.png (as at the end of training) and report.html, and prints the held-out log-likelihood under both. 'vae train' does this when it finishes; use this command after training was interrupted, or to choose --components yourself.
        """)

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Option(help: "Fit exactly this many components (1–\(PriorFit.maxComponents)) instead of choosing on held-out codes.")
    var components: Int?

    @OptionGroup var threads: ThreadOptions
    @OptionGroup(title: "Image cache") var caching: CacheOptions
    @OptionGroup var precision: PrecisionOptions

    func validate() throws {
        if let components, !(1...PriorFit.maxComponents).contains(components) {
            throw ValidationError("--components must be between 1 and \(PriorFit.maxComponents)")
        }
    }

    func run() throws {
        do {
            // Locked, so a 'vae train' still writing this run is refused rather than raced.
            let folder = try RunFolder.existingRun(at: runFolder)
            let model = try Model(folder: runFolder, threads: threads.threads, chunk: TrainingSession.viewerChunk)
            model.precision = try precision.chosen()
            guard let config = model.run, let stamp = model.stamp else {
                throw RunError.corrupt(path: folder.file(Checkpoint.modelFile), reason: "does not say which epoch and step it was saved at")
            }
            let batches = try TrainingSession.images(of: config, threads: threads.threads, cache: caching.chosen, warn: warn)
            // Other files than training saw make another validation split: say so rather than score on trained-on images.
            if let saved = (try? Safetensors.read(folder.file(Checkpoint.stateFile)))?.metadata["data_fingerprint"],
               !DataFingerprint.matches(saved: saved, current: DataFingerprint.of(paths: batches.dataset.paths, folders: config.dataFolders)) {
                warn("warning: the image folder changed since this run was trained; the held-out images are not the ones training held out")
            }
            let start = Date()
            let prior = try folder.fitPrior(model: model, batches: batches, config: config, stamp: stamp, components: components,
                                            threads: threads.threads) { print("  " + $0.summary) }
            print(prior.summary(own: model.ownPriorName) + String(format: " (%.1f s)", Date().timeIntervalSince(start)))
            print("wrote \(folder.file(SavedPrior.file)), samples.png (fitted prior), \(RunFolder.standardSamplesFile), "
                  + "\(RunFolder.traversalFile), \(RunFolder.interpolationFile), report.html")
        } catch let error as ValidationError {
            throw error
        } catch {
            throw RunFailure("\(error)")
        }
    }
}
