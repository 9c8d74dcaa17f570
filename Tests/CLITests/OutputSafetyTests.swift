// Pictures never replace what is not theirs, never outgrow memory; bench flags are bounded; refusals are one line.
import Foundation
import Testing
import TestSupport

@Suite struct OutputSafetyTests {
    static func makeRun() throws -> (data: String, run: String) {
        let data = try makeImageFolder(count: 6)
        let run = temporaryFolder("vae-output-safety") + "/run"
        let r = try vae(["train", data, "--size", "16", "--channels", "3", "--widths", "4,8", "--latent", "3",
                         "--batch", "3", "--epochs", "1", "--out", run])
        #expect(r.status == 0, "\(r.stderr)")
        return (data, run)
    }

    @Test func picturesDoNotReplaceRunFilesInputsOrOtherFiles() throws {
        let (data, run) = try Self.makeRun()
        let image = data + "/" + (try FileManager.default.contentsOfDirectory(atPath: data).sorted().first { $0.hasSuffix(".png") }!)
        let model = try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors"))
        var r = try vae(["sample", run, "--count", "2", "--out", run + "/model.safetensors"])
        #expect(r.status == 1 && r.stderr.contains("is not a PNG"), "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")) == model)
        r = try vae(["reconstruct", run, image, "--out", run + "/config.json"])
        #expect(r.status == 1 && r.stderr.contains("is not a PNG"), "\(r.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: image))
        r = try vae(["interpolate", run, image, image, "--out", image])
        #expect(r.status == 1 && r.stderr.contains("input images"), "\(r.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: image)) == before)
        let separate = temporaryFolder("vae-separate")
        try "mine".write(toFile: separate + "/sample-0001.png", atomically: true, encoding: .utf8)
        r = try vae(["sample", run, "--count", "3", "--out", separate + "/grid.png", "--separate", separate])
        #expect(r.status == 1 && r.stderr.contains("sample-0001.png: exists and is not a PNG"), "\(r.stderr)")
        #expect(try String(contentsOfFile: separate + "/sample-0001.png", encoding: .utf8) == "mine")
        r = try vae(["sample", run, "--count", "2", "--out", separate])
        #expect(r.status == 1 && r.stderr.contains("is a folder"), "\(r.stderr)")
        // A PNG of its own may be written again.
        r = try vae(["sample", run, "--count", "2", "--out", run + "/again.png"])
        #expect(r.status == 0)
        r = try vae(["sample", run, "--count", "2", "--out", run + "/again.png"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func picturesTooLargeAreRefusedBeforeTheyAreMade() throws {
        let (data, run) = try Self.makeRun()
        var r = try vae(["sample", run, "--count", "10000", "--scale", "16", "--out", run + "/big.png"])
        #expect(r.status == 1 && r.stderr.contains("megapixels") && r.stderr.contains("--count"), "\(r.stderr)")
        r = try vae(["reconstruct", run, data, "--scale", "16", "--limit", "1000", "--out", run + "/big.png"])
        #expect(r.status == 0 || r.stderr.contains("megapixels"), "\(r.stderr)")
        r = try vae(["interpolate", run, data, data, "--steps", "1000", "--scale", "16"])
        #expect(r.status == 1, "\(r.stderr)")
    }

    @Test func benchFlagsAreBoundedAndRefusalsAreOneLine() throws {
        for (flags, message) in [(["--batch", "1000000000"], "--batch must be between 1 and 65536"),
                                 (["--threads", "1000"], "--threads must be between 1 and"),
                                 (["--steps", "1000000000"], "--steps must be between 1 and 100000"),
                                 (["--shards", "0"], "--shards")] {
            let r = try vae(["bench", "--steps", "2"] + flags, timeout: 60)
            #expect(r.status == 64 && r.stderr.contains(message), "\(flags): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(flags): \(r.stderr)")
        }
    }

    @Test func theDataFolderIsNeverTheRunFolder() throws {
        let data = try makeImageFolder(count: 4)
        var r = try vae(["train", data, "--size", "16", "--out", data, "--force"])
        #expect(r.status == 1 && r.stderr.contains("is the image folder itself"), "\(r.stderr)")
        r = try vae(["train", data, "--size", "16", "--out", (data as NSString).deletingLastPathComponent, "--force"])
        #expect(r.status == 1 && r.stderr.contains("holds the image folder"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: data).count == 4)
    }
}
