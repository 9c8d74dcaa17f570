// vae train without model flags: the images' side and colour pick the size, the family, the likelihood and the batch.
import Foundation
import Testing
import TestSupport
import ImageIO

@Suite struct DefaultsCLITests {
    /// `count` images of `side`×`side`, gray or coloured, each a different square on white.
    static func folder(gray: Bool, side: Int, count: Int = 6) throws -> String {
        let folder = temporaryFolder("vae-defaults")
        for i in 0..<count {
            var image = Image(width: side, height: side + i % 2, channels: gray ? 1 : 3, fill: 1)
            for y in (i % 4)..<(side / 2 + i % 4) { for x in 2..<(side / 2 + 2) {
                for c in 0..<image.channels { image[x, y, c] = gray ? 0.2 : [0.9, 0.3, 0.1][c] }
            } }
            try image.writePNG(to: folder + "/\(i).png")
        }
        return folder
    }

    static func config(_ run: String) throws -> [String: Any] {
        let data = try #require(bytes(run + "/config.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func grayImagesGetThePlainFamilyWithBernoulli() throws {
        let out = temporaryFolder("vae-defaults-run") + "/gray"
        let r = try vae(["train", try Self.folder(gray: true, side: 20), "--epochs", "1", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("images: 20×20 gray from the 6 sampled (--size 20 --channels 1;"), "\(r.stdout)")
        let config = try Self.config(out)
        let model = try #require(config["model"] as? [String: Any]), training = try #require(config["training"] as? [String: Any])
        #expect(model["size"] as? Int == 20 && model["channels"] as? Int == 1 && model["latent"] as? Int == 16)
        #expect(model["likelihood"] as? String == "bernoulli" && model["priorMixture"] as? Int == 32)
        let term = try #require(model["autoregressive"] as? [String: Any])
        #expect(term["kernel"] as? Int == 5 && term["channels"] as? Int == 0)
        #expect(!"\(model["encoder"] ?? "")".contains("residual"))
        #expect(training["batch"] as? Int == 128)
        #expect(training["learningRate"] as? Double == 0.001)
        // Nothing is scheduled, so report.html draws no schedule.
        let report = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(!report.contains("Schedule: learning rate"))
        // The report names the model, the autoregressive term with it.
        #expect(report.contains("→ bernoulli, autoregressive 5×5 linear</p>"))
    }

    @Test func colourImagesGetResidualBlocksAndTheLogisticMixture() throws {
        let out = temporaryFolder("vae-defaults-run") + "/colour"
        let r = try vae(["train", try Self.folder(gray: false, side: 24), "--epochs", "1", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("images: 24×24 colour from the 6 sampled (--size 24 --channels 3;"), "\(r.stdout)")
        let config = try Self.config(out)
        let model = try #require(config["model"] as? [String: Any]), training = try #require(config["training"] as? [String: Any])
        #expect(model["size"] as? Int == 24 && model["channels"] as? Int == 3 && model["latent"] as? Int == 64)
        #expect(model["likelihood"] as? String == "logistic" && model["priorMixture"] == nil && model["autoregressive"] == nil)
        #expect("\(model["encoder"] ?? "")".contains("residual"))
        #expect(training["learningRate"] as? Double == 0.0005)
        #expect(training["batch"] as? Int == 16 && training["klWarmupSteps"] as? Int == 2000)
        #expect(training["schedule"] == nil)
        // The KL warm-up is drawn in report.html beside the loss curves.
        #expect(try String(contentsOfFile: out + "/report.html", encoding: .utf8).contains("Schedule: learning rate ÷ --lr and β ÷ --beta"))
    }

    @Test func aFlagOverridesItsPartOnly() throws {
        let out = temporaryFolder("vae-defaults-run") + "/flags"
        // --size given: only the colour is read from the images; --likelihood given: the family stays the default.
        let r = try vae(["train", try Self.folder(gray: false, side: 24), "--size", "16", "--likelihood", "bernoulli",
                         "--epochs", "1", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("(--channels 3;") && !r.stdout.contains("--size 24"), "\(r.stdout)")
        let model = try #require(try Self.config(out)["model"] as? [String: Any])
        #expect(model["size"] as? Int == 16 && model["likelihood"] as? String == "bernoulli")
        #expect("\(model["encoder"] ?? "")".contains("residual"))
        // A preset keeps the reference model and its constant learning rate; nothing is read from the images.
        let preset = try vae(["train", try Self.folder(gray: false, side: 24), "--preset", "fmnist", "--epochs", "1",
                              "--out", out + "-preset"])
        #expect(preset.status == 0 && !preset.stdout.contains("images:"), "\(preset.stderr)")
        let training = try #require(try Self.config(out + "-preset")["training"] as? [String: Any])
        #expect(training["schedule"] == nil && training["batch"] as? Int == 128)
        #expect((try Self.config(out + "-preset")["model"] as? [String: Any])?["priorMixture"] == nil)
        #expect((try Self.config(out + "-preset")["model"] as? [String: Any])?["autoregressive"] == nil)
        // Free bits need N(0, I): with them, gray images' default learned prior gives way.
        let gray = try vae(["train", try Self.folder(gray: true, side: 20), "--free-bits", "0.1", "--epochs", "1",
                            "--out", out + "-free-bits"])
        #expect(gray.status == 0, "\(gray.stderr)")
        #expect((try Self.config(out + "-free-bits")["model"] as? [String: Any])?["priorMixture"] == nil)
    }
}
