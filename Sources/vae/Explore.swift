// vae explore: writes a run's explorer page, one HTML file in which its decoder runs in the browser.
import ArgumentParser
import Foundation
import VAE

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an HTML page in which the model's decoder runs live in the browser.",
        discussion: """
        One self-contained file (no server, nothing fetched): the decoder and its weights in JavaScript, a slider per latent unit (active units first, by their KL on up to \(LatentSummary.maxMeasured) training images; inactive ones folded away), random draws from N(0, I) and from the run's fitted prior (prior.safetensors) at a temperature, and a strip of training images encoded now: click one to jump to its code, click two to interpolate between them. The image follows the sliders as they move, with the time each decode takes. Reads the run's training images (its data folders, from config.json) to measure the KL and make the strip.
        """)

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Option(help: "Output HTML file (default: RUN/explore.html).")
    var out: String?

    @Option(help: "Data images in the strip.")
    var thumbnails: Int = LatentSummary.defaultThumbnails

    @OptionGroup var threads: ThreadOptions
    @OptionGroup(title: "Image cache") var caching: CacheOptions

    func validate() throws {
        guard (0...256).contains(thumbnails) else { throw ValidationError("--thumbnails must be between 0 and 256") }
    }

    func run() throws {
        let path = out ?? runFolder + "/explore.html"
        try checkPageTarget(path)
        do {
            let model = try Model(folder: runFolder, threads: threads.threads, chunk: TrainingSession.viewerChunk)
            guard let config = model.run else { throw RunFailure("\(runFolder): config.json lacks the data settings") }
            let batches = try TrainingSession.images(of: config, threads: threads.threads, cache: caching.chosen, warn: warn)
            let indices = batches.trainIndices.isEmpty ? batches.validationIndices : batches.trainIndices
            guard !indices.isEmpty else { throw RunFailure("\(runFolder): none of the run's training images could be read") }
            let latents = LatentSummary(model: model, dataset: batches.dataset, indices: indices, thumbnails: thumbnails)
            let decoder = try DecoderExport(model: model)
            let title = URL(fileURLWithPath: runFolder).standardizedFileURL.lastPathComponent
            // A prior fitted to another state of the model, or damaged, is left out with a note: the page works without it.
            var prior: GaussianMixture?
            do {
                switch try RunFolder.prior(in: runFolder, for: model) {
                case let .fitted(saved): prior = saved.mixture
                case let .stale(why): warn("note: \(why); the page draws from \(model.ownPriorName) only")
                case .none: break
                }
            } catch {
                warn("note: \(error); the page draws from \(model.ownPriorName) only")
            }
            // Without a fitted prior, a prior learned with the model gets the second button.
            let learned = prior == nil ? model.learnedPrior : nil
            let html = try ExplorerPage.html(title: title, decoder: decoder, latents: latents, prior: prior ?? learned,
                                             priorName: learned == nil ? "the fitted prior" : model.ownPriorName)
            try ensureParentFolder(of: path)
            try Data(html.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            let active = latents.active.filter { $0 }.count
            print(String(format: "wrote %@ (%.1f MB; %d of %d latent units active, %d data images)", path,
                         Double(html.utf8.count) / 1e6, active, latents.kl.count, latents.thumbnails.count))
        } catch let error as RunFailure {
            throw error
        } catch {
            throw RunFailure("\(error)")
        }
    }

    /// Refuses to replace anything but an HTML page: a folder, a run's files, the user's own files.
    func checkPageTarget(_ path: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return }
        if isFolder.boolValue { throw RunFailure("\(path): is a folder; give an HTML file name") }
        let head = (FileHandle(forReadingAtPath: path)?.readData(ofLength: 15)).map { String(decoding: $0, as: UTF8.self) }
        guard head?.lowercased() == "<!doctype html>" else {
            throw RunFailure("\(path): exists and is not an HTML page; refusing to replace it (choose another name)")
        }
    }
}
