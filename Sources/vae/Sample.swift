// vae sample: a grid of images decoded from random draws of the prior.
import ArgumentParser
import Foundation
import ImageIO
import VAE

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw images from a trained model's prior and write them as a grid PNG.",
        discussion: "Decodes z ~ N(0, T²·I). The same --seed gives the same images.")

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Option(help: "Number of images.")
    var count: Int = 64

    @Option(help: "Random seed for the draws.")
    var seed: UInt64 = 0

    @Option(help: "Scale of the prior's standard deviation (below 1: more typical, less varied images).")
    var temperature: Float = 1

    @Option(help: "Images per row (default: about the square root of --count).")
    var columns: Int?

    @Option(help: "Output PNG (default: RUN/prior-samples.png).")
    var out: String?

    @Option(help: "Also write each image as its own PNG into this folder.")
    var separate: String?

    @OptionGroup var picture: PictureOptions
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000") }
        guard temperature > 0, temperature.isFinite else { throw ValidationError("--temperature must be positive") }
        if let columns, columns < 1 { throw ValidationError("--columns must be at least 1") }
    }

    func run() throws {
        let model = try loadModel(runFolder, threads: threads.threads)
        let scale = picture.factor(for: model.config.size)
        try checkPictureSize(tiles: count, side: model.config.size, scale: scale, advice: "use a smaller --count or --scale")
        let path = out ?? runFolder + "/prior-samples.png"
        try checkPictureTarget(path)
        let images = model.samples(count: count, seed: seed, temperature: temperature)
        let cols = columns ?? Int(Double(count).squareRoot().rounded(.up))
        try ensureParentFolder(of: path)
        try Image.grid(images.map { $0.upscaled(by: scale) }, columns: cols).writePNG(to: path)
        print("wrote \(path) (\(count) samples, seed \(seed), temperature \(temperature))")
        if let separate {
            try writeEach(images, to: separate, prefix: "sample", digits: 4, scale: scale)
            print("wrote \(images.count) images to \(separate)/")
        }
    }
}
