// `--arch resnet` end to end: trained an epoch on Datasets/sample, then sampled, reconstructed, interpolated and evaluated.
import Foundation
import Testing
import TestSupport

@Suite struct ResNetCLITests {
    @Test func resnetTrainsSamplesReconstructsInterpolatesAndEvaluates() throws {
        let base = temporaryFolder("vae-resnet"), run = base + "/run"
        var r = try vae(["train", sampleData, "--arch", "resnet", "--size", "16", "--channels", "3", "--widths", "8,16",
                         "--latent", "4", "--batch", "8", "--epochs", "1", "--out", run])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("epoch 1/1") && r.stdout.contains("residual"), "\(r.stdout)")
        // The block lists name the new kinds, SiLU by default; the weights carry the residual blocks' names.
        let config = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        #expect(config.contains("\"residual\"") && config.contains("\"upsample\"") && config.contains("\"silu\""))
        #expect(!config.contains("\"relu\"") && !config.contains("\"deconv\""))
        let weights = try #require(bytes(run + "/model.safetensors"))
        let header = String(decoding: weights.prefix(4096), as: UTF8.self)
        #expect(header.contains("enc.2.conv1.weight") && header.contains("dec.4.conv2.bias"))

        r = try vae(["sample", run, "--count", "4", "--out", base + "/s.png", "--scale", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try pngSize(base + "/s.png") == (2 * 16 + 3 * 2, 2 * 16 + 3 * 2))
        r = try vae(["reconstruct", run, sampleData + "/bar-03.png", "--out", base + "/r.png", "--scale", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try pngSize(base + "/r.png") == (16 + 2 * 2, 2 * 16 + 3 * 2))
        r = try vae(["interpolate", run, sampleData + "/bar-03.png", sampleData + "/bar-07.png", "--steps", "3",
                     "--out", base + "/i.png", "--scale", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["evaluate", run, sampleData, "--k", "3"])
        #expect(r.status == 0 && r.stdout.contains("neg_elbo") && r.stdout.contains("iwae_k3"), "\(r.stderr)")

        // The family is a setting of the run: a resumed run keeps it; --model describes the model instead.
        r = try vae(["train", "--resume", run, "--epochs", "2", "--arch", "plain"])
        #expect(r.status != 0 && r.stderr.contains("--arch cannot change when resuming (saved resnet, given plain)"), "\(r.stderr)")
        r = try vae(["train", sampleData, "--arch", "resnet", "--model", run + "/config.json"])
        #expect(r.status != 0 && r.stderr.contains("drop --arch"), "\(r.stderr)")
    }

    /// 1 epoch, then 1 more with --resume, equals 2 epochs straight, bit for bit: nothing the
    /// residual blocks keep between their passes outlives a step.
    @Test func resnetResumesExactly() throws {
        let base = temporaryFolder("vae-resnet-resume")
        let common = ["--arch", "resnet", "--size", "16", "--channels", "1", "--widths", "4,8", "--latent", "3",
                      "--batch", "8", "--seed", "2", "--activation", "relu"]
        #expect(try vae(["train", sampleData, "--epochs", "2", "--out", base + "/straight"] + common).status == 0)
        #expect(try vae(["train", sampleData, "--epochs", "1", "--out", base + "/split"] + common).status == 0)
        let r = try vae(["train", "--resume", base + "/split", "--epochs", "2", "--arch", "resnet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(bytes(base + "/straight/model.safetensors") == bytes(base + "/split/model.safetensors"))
        #expect(lossLines(base + "/straight") == lossLines(base + "/split"))
    }
}
