// vae reconstruct: inputs above their reconstructions, as one sheet.
import ArgumentParser
import Foundation
import ImageIO
import VAE

struct Reconstruct: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode and decode images, and write them above their reconstructions.",
        discussion: """
        Inputs are prepared as the run's training data was (resized, cropped or padded, converted to its channels), so the sheet shows them as the model sees them.
        """)

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Argument(help: "Image files or folders (PNG or JPEG, any size).")
    var inputs: [String]

    @Option(help: "At most this many images (the first in sorted order).")
    var limit: Int = 64

    @Option(help: "Images per row.")
    var columns: Int = 8

    @Option(help: "Output PNG (default: RUN/reconstruction.png).")
    var out: String?

    @OptionGroup var picture: PictureOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var precision: PrecisionOptions

    func validate() throws {
        guard limit >= 1, columns >= 1 else { throw ValidationError("--limit and --columns must be at least 1") }
    }

    func run() throws {
        let model = try loadModel(runFolder, threads: threads.threads, precision: precision)
        let loaded = try loadInputs(inputs, model: model, in: runFolder).prefix(limit)
        guard !loaded.isEmpty else { throw RunFailure("no readable PNG or JPEG images in \(inputs.joined(separator: ", "))") }
        try checkPictureSize(tiles: 2 * loaded.count, side: model.config.size, scale: picture.factor(for: model.config.size),
                             advice: "use a smaller --limit or --scale")
        let path = out ?? runFolder + "/reconstruction.png"
        try checkPictureTarget(path, inputs: loaded.map(\.0))
        let sheet = model.reconstructionSheet(loaded.map(\.1), columns: columns,
                                              scale: picture.factor(for: model.config.size))
        try ensureParentFolder(of: path)
        try sheet.writePNG(to: path)
        print("wrote \(path) (\(loaded.count) images above their reconstructions)")
    }
}
