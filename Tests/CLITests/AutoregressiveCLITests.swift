// vae train --autoregressive: the term is saved, resumed bit for bit, used by every command that draws or scores images, and refused where it cannot go.
import Foundation
import Testing
import TestSupport

@Suite struct AutoregressiveCLITests {
    /// End to end on the tiny sample with a hidden layer: train, resume to the same bytes, sample,
    /// reconstruct, interpolate, decode and evaluate.
    @Test func aTermTrainsResumesAndEveryCommandUsesIt() throws {
        let base = temporaryFolder("vae-autoregressive")
        let whole = base + "/whole", parts = base + "/parts"
        let flags = ["--autoregressive", "4", "--autoregressive-kernel", "3", "--no-cache"] + tinyModel
        let r = try vae(["train", sampleData, "--epochs", "2", "--out", whole] + flags)
        #expect(r.status == 0 && r.stdout.contains("bernoulli, autoregressive 3×3 ×4"), "\(r.stdout) \(r.stderr)")
        let data = try #require(bytes(whole + "/config.json"))
        let config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let term = try #require((config["model"] as? [String: Any])?["autoregressive"] as? [String: Any])
        #expect(term["kernel"] as? Int == 3 && term["channels"] as? Int == 4)
        let weights = try #require(bytes(whole + "/model.safetensors"))
        #expect(String(decoding: weights.prefix(4096), as: UTF8.self).contains("\"ar.out_weight\""))

        #expect(try vae(["train", sampleData, "--epochs", "1", "--out", parts] + flags).status == 0)
        let resumed = try vae(["train", "--resume", parts, "--epochs", "2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(bytes(parts + "/model.safetensors") == weights)
        let changed = try vae(["train", "--resume", parts, "--epochs", "3", "--autoregressive", "linear"])
        #expect(changed.status == 1 && changed.stderr.contains("--autoregressive cannot change when resuming (saved 4 channels, given linear)"),
                "\(changed.stderr)")
        // Repeating the channels agrees without the kernel; the kernel is checked on its own.
        let kernel = try vae(["train", "--resume", parts, "--epochs", "3", "--autoregressive", "4", "--autoregressive-kernel", "5"])
        #expect(kernel.status == 1 && kernel.stderr.contains("--autoregressive-kernel cannot change when resuming (saved 3, given 5)")
                && !kernel.stderr.contains("--autoregressive cannot"), "\(kernel.stderr)")

        for command in [["sample", whole, "--count", "4", "--out", base + "/s.png"],
                        ["reconstruct", whole, sampleData, "--limit", "4", "--out", base + "/r.png"],
                        ["interpolate", whole, sampleData + "/" + (try firstImage(sampleData)), sampleData + "/" + (try firstImage(sampleData)),
                         "--steps", "3", "--out", base + "/i.png"],
                        ["evaluate", whole, sampleData, "--k", "5"]] {
            let run = try vae(command)
            #expect(run.status == 0, "\(command[0]): \(run.stderr)")
        }
    }

    @Test func badValuesAndCombinationsAreRefused() throws {
        let bogus = try vae(["train", sampleData, "--autoregressive", "many"], timeout: 60)
        #expect(bogus.status == 64 && bogus.stderr.contains("--autoregressive"), "\(bogus.stderr)")
        let kernel = try vae(["train", sampleData, "--autoregressive", "4", "--autoregressive-kernel", "4"], timeout: 60)
        #expect(kernel.status == 64 && kernel.stderr.contains("--autoregressive-kernel must be odd, between 3 and 15"), "\(kernel.stderr)")
        let gaussian = try vae(["train", sampleData, "--autoregressive", "linear", "--likelihood", "gaussian"] + tinyModel, timeout: 60)
        #expect(gaussian.status == 64 && gaussian.stderr.contains("--autoregressive works with the bernoulli likelihood only, not gaussian"),
                "\(gaussian.stderr)")
        let none = try vae(["train", sampleData, "--autoregressive", "none", "--autoregressive-kernel", "3"], timeout: 60)
        #expect(none.status == 64 && none.stderr.contains("which --autoregressive none leaves out"), "\(none.stderr)")
    }
}

/// The first image file's name in a folder (sorted), for commands that take one image.
func firstImage(_ folder: String) throws -> String {
    try #require(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted().first)
}
