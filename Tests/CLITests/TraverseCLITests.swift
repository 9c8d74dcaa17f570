// vae traverse end to end: the grid's size, that a row changes along its dimension, labels, and refused flags.
import Foundation
import ImageIO
import Testing
import TestSupport
import VAE

@Suite(.serialized) struct TraverseCLITests {
    @Test func gridHasARowPerDimensionAndALabelColumn() throws {
        let dir = temporaryFolder("vae-traverse"), run = dir + "/run"
        #expect(try vae(["train", sampleData, "--epochs", "2", "--out", run, "--precision", "fp32"] + tinyModel).status == 0)
        let r = try vae(["traverse", run, "--dims", "2,0", "--steps", "5", "--range", "2", "--scale", "2", "--out", dir + "/t.png", "--precision", "fp32"])
        #expect(r.status == 0, "\(r.stderr)")
        let image = try ImageDecoder.decode(file: dir + "/t.png").toImage(channels: 1)
        // 16 px tiles at scale 2, 2 px gaps; the label column as TraversalGrid lays it out.
        let model = try Model(folder: run, threads: 1)
        let codes = try model.encode(sampleImages(model).flatMap(\.planar), count: 8)
        let grid = TraversalGrid(dimensions: [2, 0], kl: LatentKL.perDimension(mean: codes.mean, logVariance: codes.logVariance, latent: 4),
                                 range: 2, steps: 5)
        let label = grid.labelWidth(side: 32)
        #expect(image.width == label + 5 * 34 + 2 && image.height == 2 * 34 + 2, "\(image.width)×\(image.height)")
        // The label column has ink (the text), and each row's tiles are the decoded steps along its dimension.
        #expect((0..<label).contains { x in (0..<image.height).contains { y in image[x, y, 0] < 0.5 } })
        let tiles = model.traversal(grid, base: [0, 0, 0, 0])
        for (i, tile) in tiles.enumerated() {
            let x0 = label + 2 + (i % 5) * 34, y0 = 2 + (i / 5) * 34
            var err: Float = 0
            for y in 0..<16 { for x in 0..<16 { err = max(err, abs(image[x0 + 2 * x, y0 + 2 * y, 0] - tile[x, y, 0])) } }
            #expect(err <= 1 / 255 + 1e-6, "tile \(i)")
        }
        #expect(tiles[0] != tiles[4], "a row changes along its dimension")
        #expect(grid.codes(base: [0, 0, 0, 0]).prefix(8) == [0, 0, -2, 0, 0, 0, -1, 0])

        // Defaults: the active dimensions, written into the run folder.
        let d = try vae(["traverse", run])
        #expect(d.status == 0 && FileManager.default.fileExists(atPath: run + "/traversal.png"), "\(d.stderr)")
        // Bad flags: one line each.
        for (flags, text) in [(["--dims", "1,x"], "--dims must be"), (["--dims", "7"], "dimension 7 does not exist"),
                              (["--steps", "0"], "--steps must be"), (["--range", "0"], "--range must be"),
                              (["--from", dir + "/none.png"], "none.png"), (["--out", run + "/config.json"], "is not a PNG")] {
            let bad = try vae(["traverse", run] + flags)
            #expect(bad.status != 0 && bad.stderr.contains(text) && bad.stderr.split(separator: "\n").count == 1, "\(flags): \(bad.stderr)")
        }
    }

    /// The first 8 images of Datasets/sample as the run prepares them.
    func sampleImages(_ model: Model) throws -> [Image] {
        let files = try FileManager.default.contentsOfDirectory(atPath: sampleData).sorted().prefix(8)
        return try files.map { try model.run!.data.load(sampleData + "/" + $0) }
    }

    @Test func klPerDimensionIsTheClosedForm() {
        // μ = 1, log σ² = 0: ½; μ = 0, σ² = e: ½(e − 2); two images averaged.
        let kl = LatentKL.perDimension(mean: [1, 0, 0, 0], logVariance: [0, 1, 0, 0], latent: 2)
        #expect(abs(kl[0] - 0.25) < 1e-12)
        #expect(abs(kl[1] - 0.25 * (exp(1.0) - 2)) < 1e-7)
        #expect(LatentKL.active([0.5, 0.001, 2, 0.3], threshold: 0.01, limit: 2) == [2, 0])
    }
}
