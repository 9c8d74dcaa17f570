// Streaming from the command line: images over the --memory budget are trained (and evaluated) from the cache file, said so, saved in config.json, resumed bit for bit.
import Foundation
import Testing
import TestSupport
import VAE

@Suite struct StreamingCLITests {
    /// 64×64 colour: a cache block holds 85 images, so 600 images are seven blocks.
    static let model = ["--size", "64", "--channels", "3", "--widths", "8,16", "--latent", "4", "--batch", "16", "--max-megapixels", "0.01"]

    /// The memory the run needs without its images, read from the refusal of a tiny budget (MB).
    static func baseMegabytes(_ data: String, _ base: String) throws -> Double {
        let r = try vae(["train", data, "--out", base + "/refused", "--memory", "0.000001"] + model)
        let text = r.stderr
        guard let range = text.range(of: #"needs about [0-9.]+ (MB|kB)"#, options: .regularExpression) else {
            Issue.record("no memory figure in: \(text)")
            return 0
        }
        let parts = text[range].split(separator: " ")
        return Double(parts[2])! * (parts[3] == "kB" ? 1e-3 : 1)
    }

    @Test func imagesOverTheBudgetAreStreamedAndResumeExactly() throws {
        let data = try makeImageFolder(count: 600, size: 64), base = temporaryFolder("vae-cli-stream"), cache = base + "/cache"
        // 600 images are 7.4 MB; streamed, the held-out 30 and two blocks of 85 take 2.5 MB.
        let budget = String((try Self.baseMegabytes(data, base) + 4.5) / 1000)
        let flags = ["--cache", cache, "--memory", budget] + Self.model
        // Without the cache there is nowhere to stream from: refused, saying what would work.
        var r = try vae(["train", data, "--out", base + "/nocache", "--no-cache", "--memory", budget] + Self.model)
        #expect(r.status != 0 && r.stderr.contains("over the") && r.stderr.contains("leave out --no-cache"), "\(r.stderr)")
        r = try vae(["train", data, "--epochs", "2", "--out", base + "/straight"] + flags)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("streaming the images from \(cache)/"), "\(r.stdout)")
        #expect(r.stdout.contains("over the memory budget): blocks of 85 images in a seeded order"), "\(r.stdout)")
        let config = try RunConfig.read(base + "/straight/config.json")
        let stream = try #require(config.training.stream)
        #expect(stream.blockImages == 85 && stream.window >= 1)
        // One epoch, then resumed to two (with a larger budget: the saved order is kept): the same weights.
        r = try vae(["train", data, "--epochs", "1", "--out", base + "/split"] + flags)
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["train", "--resume", base + "/split", "--epochs", "2", "--memory", "8", "--cache", cache])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("streaming the images from"), "\(r.stdout)")
        #expect(bytes(base + "/split/model.safetensors") == bytes(base + "/straight/model.safetensors"))
        #expect(lossLines(base + "/split") == lossLines(base + "/straight"))
        // Evaluated streamed or held, the figures are the same.
        let streamedEval = try vae(["evaluate", base + "/straight", data, "--k", "3", "--json", "--cache", cache, "--memory", "0.001"])
        let heldEval = try vae(["evaluate", base + "/straight", data, "--k", "3", "--json", "--cache", cache, "--memory", "8"])
        #expect(streamedEval.status == 0 && heldEval.status == 0, "\(streamedEval.stderr)\(heldEval.stderr)")
        #expect(streamedEval.stderr.contains("streaming the images from \(cache)/") && !heldEval.stderr.contains("streaming"),
                "\(streamedEval.stderr)")
        #expect(streamedEval.stdout == heldEval.stdout && streamedEval.stdout.contains("\"iwae\""), "\(streamedEval.stdout)")
        // In memory the order differs, and so do the weights.
        r = try vae(["train", data, "--epochs", "2", "--out", base + "/memory", "--cache", cache, "--memory", "8"] + Self.model)
        #expect(r.status == 0 && !r.stdout.contains("streaming"), "\(r.stdout)")
        #expect(bytes(base + "/memory/model.safetensors") != bytes(base + "/straight/model.safetensors"))
    }
}
