// vae interpolate: a strip from image A through decoded points between their codes to image B.
import ArgumentParser
import Foundation
import ImageIO
import VAE

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Morph one image into another through the latent space.",
        discussion: """
        Encodes A and B, walks between the means of their codes (in a straight line, or along the sphere with --slerp) and writes a strip: A, the decoded steps, B; with --gif, also the same frames as a looping animation.
        """)

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Argument(help: "The first image (PNG or JPEG, any size).")
    var a: String

    @Argument(help: "The second image.")
    var b: String

    @Option(help: "Decoded images between A and B.")
    var steps: Int = 8

    @Flag(help: "Spherical instead of linear interpolation.")
    var slerp = false

    @Option(help: "Output PNG (default: RUN/interpolation.png).")
    var out: String?

    @Option(help: "Also write each frame as its own PNG into this folder.")
    var frames: String?

    @OptionGroup var picture: PictureOptions
    @OptionGroup var animation: AnimationOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var precision: PrecisionOptions

    func validate() throws {
        guard (1...1000).contains(steps) else { throw ValidationError("--steps must be between 1 and 1000") }
    }

    func run() throws {
        let model = try loadModel(runFolder, threads: threads.threads, precision: precision)
        let prep = try dataPreparation(of: model, in: runFolder)
        let first: Image, second: Image
        do {
            first = try prep.load(a)
            second = try prep.load(b)
        } catch {
            throw RunFailure("\(error)")
        }
        let scale = picture.factor(for: model.config.size)
        try checkPictureSize(tiles: steps + 2, side: model.config.size, scale: scale, advice: "use fewer --steps or a smaller --scale")
        let path = out ?? runFolder + "/interpolation.png"
        try checkPictureTarget(path, inputs: [a, b])
        try animation.checkTarget(inputs: [a, b], picture: path)
        let strip = model.interpolation(from: first, to: second, steps: steps, slerp: slerp)
        try ensureParentFolder(of: path)
        try Image.grid(strip.map { $0.upscaled(by: scale) }, columns: strip.count).writePNG(to: path)
        print("wrote \(path) (A, \(steps) \(slerp ? "spherical" : "linear") steps, B)")
        try animation.write(strip.map { $0.upscaled(by: scale) }, what: "A, the steps, B")
        if let frames {
            try writeEach(strip, to: frames, prefix: "frame", digits: 3, scale: scale, inputs: [a, b])
            print("wrote \(strip.count) frames to \(frames)/")
        }
    }
}
