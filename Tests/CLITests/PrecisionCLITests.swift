// --precision on train and the commands that load a run: resolved, saved in config.json, kept on resume, bit-exact within one precision.
import Foundation
import Testing
import TestSupport

@Suite struct PrecisionCLITests {
    /// Whether this machine runs bf16 products natively (what `auto` picks).
    static let nativeBF16: Bool = {
        (try? vae(["bench", "--steps", "1", "--batch", "2", "--precision", "auto"], timeout: 120))?
            .stdout.hasPrefix("precision bf16") ?? false
    }()

    /// A new run says which precision `auto` chose and saves it resolved; an explicit one is saved
    /// as asked; --resume keeps it (auto then means the run's own) and refuses a change by name.
    @Test func aRunSavesItsPrecisionAndResumeKeepsIt() throws {
        let base = temporaryFolder("vae-precision")
        let auto = try vae(["train", sampleData, "--epochs", "1", "--out", base + "/auto"] + tinyModel)
        #expect(auto.status == 0, "\(auto.stderr)")
        let chosen = Self.nativeBF16 ? "bf16" : "fp32"
        #expect(auto.stdout.contains("precision \(chosen) (auto: "), "\(auto.stdout)")
        #expect(auto.stdout.contains("batch 8, \(chosen), "), "\(auto.stdout)")
        #expect(try trainingSettings(base + "/auto")["precision"] as? String == chosen)

        let fp32 = try vae(["train", sampleData, "--epochs", "1", "--precision", "fp32", "--out", base + "/fp32"] + tinyModel)
        #expect(fp32.status == 0 && fp32.stdout.contains("precision fp32 (asked)"), "\(fp32.stdout) \(fp32.stderr)")
        #expect(try trainingSettings(base + "/fp32")["precision"] as? String == "fp32")
        let changed = try vae(["train", "--resume", base + "/fp32", "--epochs", "2", "--precision", "bf16"])
        #expect(changed.status == 1, "\(changed.stdout)")
        #expect(changed.stderr.contains("--precision cannot change when resuming (saved fp32, given bf16)"), "\(changed.stderr)")
        #expect(metricsLineCount(base + "/fp32") == 1)
        let kept = try vae(["train", "--resume", base + "/fp32", "--epochs", "2", "--precision", "auto"])
        #expect(kept.status == 0 && kept.stdout.contains("batch 8, fp32, "), "\(kept.stdout) \(kept.stderr)")
        #expect(try trainingSettings(base + "/fp32")["precision"] as? String == "fp32")
    }

    /// A bf16 run stopped after an epoch and resumed ends with the bytes of one never stopped,
    /// and differs from the same run in fp32 (the products really ran in bf16).
    @Test func aBF16RunResumesBitForBit() throws {
        guard Self.nativeBF16 else {
            let refused = try vae(["train", sampleData, "--epochs", "1", "--precision", "bf16",
                                   "--out", temporaryFolder("vae-nobf16")] + tinyModel)
            #expect(refused.status == 1 && refused.stderr.contains("--precision bf16: "), "\(refused.stderr)")
            return
        }
        let base = temporaryFolder("vae-bf16-resume")
        let settings = tinyModel + ["--precision", "bf16", "--seed", "5"]
        let straight = try vae(["train", sampleData, "--epochs", "3", "--out", base + "/straight"] + settings)
        #expect(straight.status == 0, "\(straight.stderr)")
        let first = try vae(["train", sampleData, "--epochs", "1", "--out", base + "/run"] + settings)
        #expect(first.status == 0, "\(first.stderr)")
        let rest = try vae(["train", "--resume", base + "/run", "--epochs", "3"])
        #expect(rest.status == 0 && rest.stdout.contains(", bf16, "), "\(rest.stdout) \(rest.stderr)")
        #expect(bytes(base + "/run/model.safetensors") == bytes(base + "/straight/model.safetensors"), "weights differ after resuming")
        #expect(lossLines(base + "/run") == lossLines(base + "/straight"))

        let fp32 = try vae(["train", sampleData, "--epochs", "3", "--out", base + "/fp32"] + tinyModel + ["--precision", "fp32", "--seed", "5"])
        #expect(fp32.status == 0, "\(fp32.stderr)")
        #expect(bytes(base + "/fp32/model.safetensors") != bytes(base + "/straight/model.safetensors"))
    }

    /// evaluate says its precision and reports it in JSON; the two precisions' bounds agree
    /// closely; a config.json whose precision is not resolved is refused by name.
    @Test func evaluateRunsInEitherPrecision() throws {
        let base = temporaryFolder("vae-precision-eval")
        let run = base + "/run"
        let trained = try vae(["train", sampleData, "--epochs", "2", "--out", run] + tinyModel)
        #expect(trained.status == 0, "\(trained.stderr)")
        var bounds: [String: Double] = [:]
        for precision in Self.nativeBF16 ? ["fp32", "bf16"] : ["fp32"] {
            let r = try vae(["evaluate", run, sampleData, "--k", "10", "--json", "--precision", precision])
            #expect(r.status == 0, "\(r.stderr)")
            // stdout is the JSON alone; the precision line goes to stderr.
            let result = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            #expect(result["precision"] as? String == precision)
            bounds[precision] = try #require(result["negativeELBO"] as? Double)
            #expect(r.stderr.contains("precision \(precision) (asked"), "\(r.stderr)")
        }
        if let fp32 = bounds["fp32"], let bf16 = bounds["bf16"] {
            #expect(fp32 != bf16)
            #expect(abs(fp32 - bf16) < 0.01 * fp32, "fp32 \(fp32), bf16 \(bf16)")
        }
        for command in [["sample", run, "--out", base + "/s.png"], ["reconstruct", run, sampleData, "--out", base + "/r.png"]] {
            let r = try vae(command + ["--precision", "fp32"])
            #expect(r.status == 0 && r.stdout.hasPrefix("precision fp32 (asked)"), "\(command[0]): \(r.stdout) \(r.stderr)")
        }

        let config = run + "/config.json"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let saved = Self.nativeBF16 ? "\"precision\" : \"bf16\"" : "\"precision\" : \"fp32\""
        #expect(text.contains(saved))
        try text.replacingOccurrences(of: saved, with: "\"precision\" : \"auto\"").write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try vae(["evaluate", run, sampleData, "--k", "0"])
        #expect(refused.status == 1 && refused.stderr.contains("training.precision must be fp32 or bf16"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
    }
}
