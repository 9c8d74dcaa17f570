// vae decode: the image a run's decoder makes from a latent code you give.
import ArgumentParser
import Foundation
import ImageIO
import VAE

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode one latent code you give into an image.",
        discussion: """
        Writes the likelihood's mean image for z (σ of the logits for bernoulli, the mean for gaussian, the mixture's mean for logistic), as 'vae sample' and the explorer page show it. The explorer page ('vae explore') shows codes to try.
        """)

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Option(help: ArgumentHelp("The code: as many comma-separated numbers as the model has latent units.", valueName: "z1,z2,…"))
    var z: String

    @Option(help: "Output PNG (default: RUN/decoded.png).")
    var out: String?

    @OptionGroup var picture: PictureOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var precision: PrecisionOptions

    func values() throws -> [Float] {
        let parts = z.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try parts.map { part in
            guard let value = Float(part), value.isFinite else { throw ValidationError("--z: '\(part)' is not a finite number") }
            return value
        }
    }

    func validate() throws { _ = try values() }

    func run() throws {
        let model = try loadModel(runFolder, threads: threads.threads, precision: precision)
        let code = try values()
        guard code.count == model.config.latent else {
            throw RunFailure("--z has \(code.count) numbers; this model has \(model.config.latent) latent units")
        }
        let path = out ?? runFolder + "/decoded.png"
        try checkPictureTarget(path)
        let image = model.images(model.decode(code, count: 1), count: 1)[0]
        try ensureParentFolder(of: path)
        try image.upscaled(by: picture.factor(for: model.config.size)).writePNG(to: path)
        print("wrote \(path)")
    }
}
