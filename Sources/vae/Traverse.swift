// vae traverse: a grid with one row per latent dimension, each decoded from −range to +range around a base code.
import ArgumentParser
import Foundation
import ImageIO
import VAE

struct Traverse: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what each latent dimension does: one row per dimension, varied from −range to +range.",
        discussion: """
        Each row moves one coordinate of a base code (zero, or the mean code of --from) through --steps values from −range to +range (in standard deviations of the prior N(0, I)) and decodes them. The label at the left gives the dimension and its KL in nats, averaged over up to \(Traverse.klImages) of the run's training images. By default the rows are the active dimensions (KL over \(Traverse.threshold) nats), most KL first, at most \(Traverse.maxRows). With --gif, also an animation whose frame s shows every row's s-th step.
        """)

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Option(help: ArgumentHelp("Latent dimensions to show, in this order (e.g. 0,3,5; default: the active ones, most KL first).", valueName: "list"))
    var dims: String?

    @Option(help: "How far each row goes either side of the base, in standard deviations of the prior.")
    var range: Double = 3

    @Option(help: "Decoded images per row.")
    var steps: Int = 9

    @Option(help: ArgumentHelp("Centre the rows on this image's code instead of zero.", valueName: "image"))
    var from: String?

    @Option(help: "Output PNG (default: RUN/traversal.png).")
    var out: String?

    @OptionGroup var picture: PictureOptions
    @OptionGroup var animation: AnimationOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var precision: PrecisionOptions

    static let klImages = RunFolder.latentViewImages, threshold = LatentKL.activeThreshold, maxRows = 16

    /// --dims as numbers (checked against the latent size once the run is loaded).
    func dimensionList() throws -> [Int]? {
        guard let dims else { return nil }
        let parts = dims.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let numbers = parts.compactMap { Int($0) }
        guard numbers.count == parts.count, !numbers.isEmpty, numbers.allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("--dims must be a comma-separated list of latent dimensions such as 0,3,5")
        }
        guard numbers.count <= 256 else { throw ValidationError("--dims lists more than 256 dimensions") }
        return numbers
    }

    func validate() throws {
        _ = try dimensionList()
        guard range.isFinite, range > 0, range <= 100 else { throw ValidationError("--range must be a number of standard deviations above 0 and at most 100") }
        guard (1...100).contains(steps) else { throw ValidationError("--steps must be between 1 and 100") }
    }

    func run() throws {
        let model = try loadModel(runFolder, threads: threads.threads, precision: precision)
        let L = model.config.latent
        let chosen = try dimensionList()
        if let bad = chosen?.first(where: { $0 >= L }) {
            throw RunFailure("--dims: dimension \(bad) does not exist (the latent has \(L), 0–\(L - 1))")
        }
        var base = [Float](repeating: 0, count: L)
        let prep = try dataPreparation(of: model, in: runFolder)
        if let from {
            do { base = model.encode(try prep.load(from).planar, count: 1).mean } catch { throw RunFailure("\(error)") }
        }
        let kl = try runKL(model: model, prep: prep, needed: chosen == nil)
        let dimensions = chosen ?? LatentKL.active(kl!, threshold: Self.threshold, limit: Self.maxRows)
        guard !dimensions.isEmpty else {
            throw RunFailure("no latent dimension has a KL over \(Self.threshold) nats (posterior collapse?); choose rows with --dims")
        }
        let scale = picture.factor(for: model.config.size)
        try checkPictureSize(tiles: dimensions.count * (steps + 1), side: model.config.size, scale: scale,
                             advice: "use fewer --dims or --steps, or a smaller --scale")
        let path = out ?? runFolder + "/traversal.png"
        try checkPictureTarget(path, inputs: from.map { [$0] } ?? [])
        try animation.checkTarget(inputs: from.map { [$0] } ?? [], picture: path)
        let grid = TraversalGrid(dimensions: dimensions, kl: kl, range: Float(range), steps: steps)
        let tiles = model.traversal(grid, base: base).map { $0.upscaled(by: scale) }
        try ensureParentFolder(of: path)
        try grid.picture(tiles: tiles, columns: steps).writePNG(to: path)
        print("wrote \(path) (dimensions \(dimensions.map(String.init).joined(separator: ",")), \(steps) steps from −\(range) to +\(range) around \(from == nil ? "zero" : "the code of " + from!))")
        // The animation: frame s shows every row's s-th step, beside the same labels.
        try animation.write((0..<steps).map { s in
            TraversalGrid(dimensions: dimensions, kl: kl, range: Float(range), steps: 1)
                .picture(tiles: dimensions.indices.map { tiles[$0 * steps + s] }, columns: 1)
        }, what: "each frame one step of every row")
    }

    /// KL per dimension over up to `klImages` of the run's training images, spread over its folders;
    /// nil (with a note) when they cannot be read and the ranking is not `needed`.
    func runKL(model: Model, prep: ImagePreparation, needed: Bool) throws -> [Double]? {
        let folders = model.run?.dataFolders ?? []
        let files = (try? FolderScan.scan(folders, sniff: false).files) ?? []
        let stride = Swift.max(1, files.count / Self.klImages)
        var images: [Image] = []
        for i in Swift.stride(from: 0, to: files.count, by: stride) where images.count < Self.klImages {
            if let image = try? prep.load(files[i]) { images.append(image) }
        }
        guard !images.isEmpty else {
            let reason = "the run's training images (\(folders.joined(separator: ", "))) cannot be read to measure each dimension's KL"
            if needed { throw RunFailure(reason + "; choose rows with --dims") }
            warn("note: " + reason + "; the labels show the dimensions only")
            return nil
        }
        return model.klPerDimension(images)
    }
}
