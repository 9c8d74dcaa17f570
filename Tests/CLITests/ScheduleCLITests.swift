// vae train with schedules, free bits, flips and a time limit: saved in config.json, resumed bit for bit, checked on resume.
import Foundation
import Testing
import TestSupport

/// The "training" object of a run's config.json.
func trainingSettings(_ run: String) throws -> [String: Any] {
    let data = try #require(bytes(run + "/config.json"))
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    return try #require(json["training"] as? [String: Any])
}

/// Lines in a run's metrics.jsonl.
func metricsLineCount(_ run: String) -> Int { lossLines(run).filter { !$0.isEmpty }.count }

@Suite(.serialized) struct ScheduleCLITests {
    static let features = ["--schedule", "cosine", "--warmup-steps", "7", "--kl-warmup", "30", "--free-bits", "0.2", "--flip"]

    /// A run with every feature on, stopped by Ctrl-C twice (once its epochs are being written,
    /// so the stops land mid-run) and resumed each time, ends with the bytes and metrics of a run
    /// never stopped; config.json holds the settings, and the metrics the scheduled lr and β.
    @Test func aScheduledRunStoppedTwiceResumesExactly() throws {
        let base = temporaryFolder("vae-sched")
        let settings = tinyModel + ["--epochs", "30", "--seed", "3"] + Self.features
        let straight = try vae(["train", sampleData, "--out", base + "/straight"] + settings)
        #expect(straight.status == 0, "\(straight.stderr)")
        #expect(straight.stdout.contains("cosine learning rate (warm-up 7 steps, over 150 steps), KL warm-up 30 steps, free bits 0.2 nats, flips"))
        let run = base + "/run"
        var process = try VAEProcess(["train", sampleData, "--out", run] + settings)
        var interrupted = 0
        for target in [2, 12] {
            var waited = 0
            while metricsLineCount(run) < target && waited < 6000 { usleep(10_000); waited += 1 }
            process.signal(SIGINT)
            let stopped = process.wait()
            #expect(stopped.status == 130 || stopped.status == 0, "\(stopped.stderr)")
            if stopped.status == 130 { interrupted += 1 }
            process = try VAEProcess(["train", "--resume", run])
        }
        let last = process.wait()
        #expect(last.status == 0, "\(last.stderr)")
        #expect(interrupted > 0, "no Ctrl-C landed before the run ended")
        #expect(bytes(run + "/model.safetensors") == bytes(base + "/straight/model.safetensors"), "weights differ after resuming")
        #expect(lossLines(run) == lossLines(base + "/straight"))
        let t = try trainingSettings(run)
        #expect(t["klWarmupSteps"] as? Int == 30 && t["freeBits"] as? Double == 0.2 && t["flip"] as? Bool == true)
        let schedule = try #require(t["schedule"] as? [String: Any])
        #expect(schedule["kind"] as? String == "cosine" && schedule["warmupSteps"] as? Int == 7 && schedule["totalSteps"] as? Int == 150)
        let first = try #require(lossLines(run).first)
        #expect(first.contains("\"learningRate\":") && first.contains("\"beta\":"))
    }

    /// A tiny budget ends the run early; it finishes as usual (checkpoint, pictures, report), and
    /// a time-limited cosine saves how it estimated its steps. Resuming a spent run trains no more.
    @Test func aTimeLimitEndsTheRunAndFinishesAsUsual() throws {
        let base = temporaryFolder("vae-time")
        let r = try vae(["train", sampleData, "--time-limit", "0.02s", "--out", base + "/constant"] + tinyModel)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("(time limit reached)") && r.stdout.contains("time limit reached:"))
        for file in ["model.safetensors", "training_state.safetensors", "report.html", "samples.png", "reconstructions.png"] {
            #expect(FileManager.default.fileExists(atPath: base + "/constant/" + file), "\(file)")
        }
        let t = try trainingSettings(base + "/constant")
        #expect(t["timeLimit"] as? Double == 0.02 && t["epochs"] as? Int == 1_000_000)
        let again = try vae(["train", "--resume", base + "/constant"])
        #expect(again.status == 0 && again.stdout.contains("has already used its time limit"), "\(again.stdout) \(again.stderr)")

        let data = try makeImageFolder(count: 200)
        let cosine = try vae(["train", data, "--size", "16", "--arch", "plain", "--likelihood", "bernoulli", "--widths", "8,16", "--latent", "4", "--time-limit", "0.2s",
                              "--schedule", "cosine", "--warmup-steps", "10", "--out", base + "/cosine"])
        #expect(cosine.status == 0, "\(cosine.stderr)")
        #expect(cosine.stdout.contains("so the learning rate's cosine is laid over") && cosine.stdout.contains("time limit reached:"))
        let schedule = try #require(try trainingSettings(base + "/cosine")["schedule"] as? [String: Any])
        let estimate = try #require(schedule["estimate"] as? [String: Any])
        #expect(estimate["steps"] as? Int == 10 && estimate["budget"] as? Double == 0.2)
        #expect((schedule["totalSteps"] as? Int ?? 0) > 10)
    }

    /// The new flags given with --resume must agree with the saved run; a cosine run keeps its epochs.
    @Test func resumeChecksTheNewFlags() throws {
        let run = temporaryFolder("vae-sched-flags") + "/run"
        let made = try vae(["train", sampleData, "--epochs", "2", "--out", run, "--schedule", "cosine", "--kl-warmup", "5",
                            "--free-bits", "0.1", "--flip"] + tinyModel)
        #expect(made.status == 0, "\(made.stderr)")
        let changed = try vae(["train", "--resume", run, "--epochs", "3", "--schedule", "constant", "--warmup-steps", "3",
                               "--kl-warmup", "6", "--free-bits", "0.2", "--time-limit", "1m"])
        #expect(changed.status == 1)
        #expect(changed.stderr == "Error: \(run): --schedule cannot change when resuming (saved cosine, given constant); "
                + "--warmup-steps cannot change when resuming (saved 1, given 3); --kl-warmup cannot change when resuming (saved 5, given 6); "
                + "--free-bits cannot change when resuming (saved 0.1, given 0.2); --time-limit cannot change when resuming "
                + "(saved none, given 1m); --epochs (the cosine schedule is laid over the saved length; a run with --schedule constant can be extended) cannot change when resuming (saved 2, given 3). "
                + "A resumed run keeps its saved settings: drop these flags, or start a new run\n")
        let same = try vae(["train", "--resume", run, "--epochs", "2", "--schedule", "cosine", "--warmup-steps", "1",
                            "--kl-warmup", "5", "--free-bits", "0.1", "--flip"])
        #expect(same.status == 0 && same.stdout.contains("already trained 2 epochs"), "\(same.stderr)")

        let plain = temporaryFolder("vae-sched-plain") + "/run"
        #expect(try vae(["train", sampleData, "--epochs", "1", "--out", plain] + tinyModel).status == 0)
        let flipped = try vae(["train", "--resume", plain, "--flip", "--epochs", "2"])
        #expect(flipped.status == 1 && flipped.stderr.contains("--flip cannot change when resuming (saved off, given on)"))
    }

    @Test func badValuesAreRefusedWithAHint() throws {
        var r = try vae(["train", sampleData, "--time-limit", "soon"])
        #expect(r.status != 0 && r.stderr.contains("--time-limit takes a duration such as 228s, 8m or 1h30m"))
        r = try vae(["train", sampleData, "--time-limit", "1m", "--schedule", "cosine", "--warmup-steps", "5"])
        #expect(r.status != 0 && r.stderr.contains("give --warmup-steps at least 10"))
        r = try vae(["train", sampleData, "--free-bits=-1"])
        #expect(r.status != 0 && r.stderr.contains("--free-bits must be zero or positive"))
        r = try vae(["train", sampleData, "--schedule", "linear"])
        #expect(r.status != 0 && r.stderr.contains("Please provide one of 'constant' and 'cosine'"))
        r = try vae(["train", "--help"])
        for flag in ["--schedule", "--warmup-steps", "--kl-warmup", "--free-bits", "--flip", "--time-limit"] {
            #expect(r.stdout.contains(flag), "\(flag)")
        }
    }
}
