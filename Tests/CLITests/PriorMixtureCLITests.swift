// vae train --prior-mixture: the learned prior is saved, resumed bit for bit, used by sample and evaluate, and refused where it cannot go.
import Foundation
import Testing
import TestSupport

@Suite struct PriorMixtureCLITests {
    @Test func aLearnedPriorTrainsResumesSamplesAndEvaluates() throws {
        let base = temporaryFolder("vae-prior-mixture")
        let whole = base + "/whole", parts = base + "/parts"
        let flags = ["--prior-mixture", "3", "--no-cache"] + tinyModel
        let r = try vae(["train", sampleData, "--epochs", "2", "--out", whole] + flags)
        #expect(r.status == 0 && r.stdout.contains("latent 4, prior learned: 3 Gaussians →"), "\(r.stdout) \(r.stderr)")
        let data = try #require(bytes(whole + "/config.json"))
        let config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((config["model"] as? [String: Any])?["priorMixture"] as? Int == 3)
        let weights = try #require(bytes(whole + "/model.safetensors"))
        #expect(String(decoding: weights.prefix(4096), as: UTF8.self).contains("\"prior.means\""))

        // One epoch, then --resume to two: the same bytes as the run that was never stopped.
        #expect(try vae(["train", sampleData, "--epochs", "1", "--out", parts] + flags).status == 0)
        let resumed = try vae(["train", "--resume", parts, "--epochs", "2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(bytes(parts + "/model.safetensors") == weights)
        let changed = try vae(["train", "--resume", parts, "--epochs", "3", "--prior-mixture", "0"])
        #expect(changed.status == 1 && changed.stderr.contains("--prior-mixture cannot change when resuming (saved 3, given 0)"),
                "\(changed.stderr)")

        let sample = try vae(["sample", whole, "--prior", "standard", "--count", "4", "--out", base + "/s.png"])
        #expect(sample.status == 0 && sample.stdout.contains("samples from the learned prior (3 components)"), "\(sample.stdout) \(sample.stderr)")
        let evaluation = try vae(["evaluate", whole, sampleData, "--k", "5"])
        #expect(evaluation.status == 0 && evaluation.stdout.contains("iwae_k5"), "\(evaluation.stdout) \(evaluation.stderr)")
    }

    /// A model.safetensors with weights its config.json does not describe is refused, not half read.
    @Test func weightsTheConfigDoesNotDescribeAreRefused() throws {
        let run = temporaryFolder("vae-prior-extra") + "/run"
        #expect(try vae(["train", sampleData, "--epochs", "1", "--prior-mixture", "2", "--no-cache", "--out", run] + tinyModel).status == 0)
        let path = run + "/config.json"
        let saved = try #require(bytes(path))
        var config = try #require(try JSONSerialization.jsonObject(with: saved) as? [String: Any])
        var model = try #require(config["model"] as? [String: Any])
        model.removeValue(forKey: "priorMixture")
        config["model"] = model
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        let r = try vae(["evaluate", run, sampleData, "--k", "0"])
        #expect(r.status == 1 && r.stderr.contains("holds tensors the run's config.json does not describe (prior."), "\(r.stderr)")
    }

    @Test func badCombinationsAreRefused() throws {
        let range = try vae(["train", sampleData, "--prior-mixture", "5000"], timeout: 60)
        #expect(range.status == 64 && range.stderr.contains("--prior-mixture must be 0 (N(0, I)) or between 1 and 1024"), "\(range.stderr)")
        let run = temporaryFolder("vae-prior-free-bits") + "/run"
        let both = try vae(["train", sampleData, "--prior-mixture", "4", "--free-bits", "0.5", "--out", run] + tinyModel, timeout: 60)
        #expect(both.status != 0 && both.stderr.contains("freeBits needs each dimension's KL to N(0, I)"), "\(both.stderr)")
    }
}
