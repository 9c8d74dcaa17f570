// vae train --latent-clamp: saved in config.json, named in the run's line, checked on resume, refused out of range.
import Foundation
import Testing
import TestSupport

@Suite struct LatentClampCLITests {
    @Test func theClampIsSavedShownAndKept() throws {
        let run = temporaryFolder("vae-clamp") + "/run"
        let r = try vae(["train", sampleData, "--epochs", "1", "--latent-clamp", "3", "--out", run] + tinyModel)
        #expect(r.status == 0 && r.stdout.contains("latent 4 (clamped ±3)"), "\(r.stdout) \(r.stderr)")
        let data = try #require(bytes(run + "/config.json"))
        let config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((config["model"] as? [String: Any])?["latentClamp"] as? Double == 3)
        let changed = try vae(["train", "--resume", run, "--epochs", "2", "--latent-clamp", "0"])
        #expect(changed.status == 1 && changed.stderr.contains("--latent-clamp cannot change when resuming (saved 3, given 0)"),
                "\(changed.stderr)")
        let bad = try vae(["train", sampleData, "--latent-clamp", "0.01"], timeout: 60)
        #expect(bad.status == 64 && bad.stderr.contains("--latent-clamp must be 0 (none) or between 0.1 and 1000"), "\(bad.stderr)")
    }
}
