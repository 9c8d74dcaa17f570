// vae sample: a grid of images decoded from random draws of the fitted prior or of N(0, I).
import ArgumentParser
import Foundation
import ImageIO
import VAE

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw images from a trained model's prior and write them as a grid PNG.",
        discussion: """
        --prior fitted (the default when the run folder holds a prior.safetensors fitted to its model) draws a component of the Gaussian mixture fitted to the training images' codes by its weight, then z = μ + T·Lε; --prior standard decodes z ~ N(0, T²·I), the VAE's own prior (for a model trained with --prior-mixture, its learned mixture instead, each component's spread times T). A prior fitted to an earlier state of the model (training went on) is not used: the default falls back to the model's own prior with a note, and --prior fitted is refused. 'vae fit-prior RUN' fits one again. The same --seed gives the same images.
        """)

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Option(help: "Number of images.")
    var count: Int = 64

    @Option(help: "Random seed for the draws.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("fitted (the mixture in RUN/prior.safetensors) or standard (the model's own prior: N(0, I), or the mixture --prior-mixture learned); default: fitted when there is one.",
                               valueName: "prior"))
    var prior: PriorChoice?

    @Option(help: "Scale of the sampling noise (below 1: more typical, less varied images).")
    var temperature: Float = 1

    @Option(help: "Images per row (default: about the square root of --count).")
    var columns: Int?

    @Option(help: "Output PNG (default: RUN/prior-samples.png).")
    var out: String?

    @Option(help: "Also write each image as its own PNG into this folder.")
    var separate: String?

    @OptionGroup var picture: PictureOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var precision: PrecisionOptions

    func validate() throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000") }
        guard temperature > 0, temperature.isFinite else { throw ValidationError("--temperature must be positive") }
        if let columns, columns < 1 { throw ValidationError("--columns must be at least 1") }
    }

    func run() throws {
        let model = try loadModel(runFolder, threads: threads.threads, precision: precision)
        let scale = picture.factor(for: model.config.size)
        try checkPictureSize(tiles: count, side: model.config.size, scale: scale, advice: "use a smaller --count or --scale")
        let path = out ?? runFolder + "/prior-samples.png"
        try checkPictureTarget(path)
        let mixture = try PriorChoice.mixture(prior, in: runFolder, for: model, fallback: "sampling from \(model.ownPriorName)")
        let images = model.samples(count: count, seed: seed, temperature: temperature, prior: mixture)
        let cols = columns ?? Int(Double(count).squareRoot().rounded(.up))
        try ensureParentFolder(of: path)
        try Image.grid(images.map { $0.upscaled(by: scale) }, columns: cols).writePNG(to: path)
        let from = mixture.map { "the fitted prior, \($0.components) component\($0.components == 1 ? "" : "s")" } ?? model.ownPriorName
        print("wrote \(path) (\(count) samples from \(from), seed \(seed), temperature \(temperature))")
        if let separate {
            try writeEach(images, to: separate, prefix: "sample", digits: 4, scale: scale)
            print("wrote \(images.count) images to \(separate)/")
        }
    }
}
