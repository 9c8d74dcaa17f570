// The end of a run: report.html has the KL bars, and traversal.png and interpolation.png are written (by train and fit-prior).
import Foundation
import ImageIO
import Testing
import TestSupport

@Suite(.serialized) struct LatentViewsCLITests {
    @Test func trainAndFitPriorWriteTheLatentViews() throws {
        let run = temporaryFolder("vae-latentviews") + "/run"
        let r = try vae(["train", sampleData, "--epochs", "2", "--out", run] + tinyModel)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        #expect(report.contains("KL per latent dimension"))
        #expect(report.components(separatedBy: "class=\"kl-bar\"").count - 1 == 4, "one bar per latent dimension")
        for file in ["traversal.png", "interpolation.png"] {
            let image = try ImageDecoder.decode(file: run + "/" + file)
            #expect(image.width > 0 && report.contains("src=\"\(file)\""), "\(file)")
        }
        // interpolation.png: A, 8 steps, B of 16 px tiles at the viewing scale (4 for 16 px), 2 px apart.
        let strip = try ImageDecoder.decode(file: run + "/interpolation.png")
        #expect(strip.width == 10 * 64 + 11 * 2 && strip.height == 64 + 4, "\(strip.width)×\(strip.height)")

        try FileManager.default.removeItem(atPath: run + "/traversal.png")
        #expect(try vae(["fit-prior", run]).status == 0)
        #expect(FileManager.default.fileExists(atPath: run + "/traversal.png"))
        #expect(try String(contentsOfFile: run + "/report.html", encoding: .utf8).contains("class=\"kl-bar\""))
    }
}
