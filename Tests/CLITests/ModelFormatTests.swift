// Model descriptions end to end: a run folder written before block lists still samples, evaluates and resumes; --activation silu trains.
import Foundation
import Testing
import TestSupport

@Suite struct ModelFormatTests {
    /// The model section of config.json as `vae train` wrote it before block lists.
    static let oldModel: [String: Any] = ["size": 16, "channels": 1, "widths": [4, 8], "hidden": 12, "latent": 3,
                                          "likelihood": "bernoulli", "logScale": -2.3025851, "learnScale": false,
                                          "initialization": "kaiming", "kernel": 4, "stride": 2, "padding": 1]

    @Test func aRunFolderWithTheOldConfigFormatStillWorks() throws {
        let data = try makeImageFolder(count: 12)
        let out = temporaryFolder("vae-old-format"), run = out + "/run", twin = out + "/twin"
        let common = ["--size", "16", "--channels", "1", "--widths", "4,8", "--hidden", "12", "--latent", "3", "--batch", "4",
                      "--val-fraction", "0", "--prior-mixture", "0", "--autoregressive", "none"]
        var r = try vae(["train", data, "--epochs", "1", "--out", run] + common)
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["train", data, "--epochs", "2", "--out", twin] + common)
        #expect(r.status == 0, "\(r.stderr)")
        // Rewrite the run's model section in the old format.
        let path = run + "/config.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        json["model"] = Self.oldModel
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))

        r = try vae(["sample", run, "--count", "4", "--out", out + "/samples.png"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["evaluate", run, data, "--k", "2"])
        #expect(r.status == 0 && r.stdout.contains("iwae"), "\(r.stderr)")
        // Resumed to two epochs it gives the weights of a run that trained two epochs at once.
        r = try vae(["train", "--resume", run, "--epochs", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: twin + "/model.safetensors"))
        #expect(a == b)
        // The resumed run saved its config.json in the block-list format.
        let saved = try String(contentsOfFile: path, encoding: .utf8)
        #expect(saved.contains("\"encoder\"") && saved.contains("\"enc_fc\""))
    }

    @Test func siluTrainsAndIsRecordedInTheBlockList() throws {
        let data = try makeImageFolder(count: 8)
        let run = temporaryFolder("vae-silu") + "/run"
        var r = try vae(["train", data, "--size", "16", "--channels", "3", "--widths", "4,8", "--latent", "3",
                         "--batch", "4", "--epochs", "1", "--activation", "silu", "--out", run])
        #expect(r.status == 0, "\(r.stderr)")
        let config = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        #expect(config.contains("\"silu\"") && !config.contains("\"relu\""))
        r = try vae(["sample", run, "--count", "2", "--out", run + "/s.png"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["train", "--resume", run, "--activation", "relu"])
        #expect(r.status != 0 && r.stderr.contains("--activation"))
    }

    /// --model FILE: a block list of the user's own, trained end to end; clashes and broken files refused.
    @Test func aModelFileTrainsAndBadOnesAreNamed() throws {
        let data = try makeImageFolder(count: 8)
        let folder = temporaryFolder("vae-model-file"), file = folder + "/model.json"
        let model = """
        {"size": 16, "channels": 3, "latent": 4,
         "encoder": [{"kind": "conv", "module": "enc", "channels": 6, "kernel": 3, "stride": 1, "padding": 1, "activation": "silu"},
                     {"kind": "conv", "module": "enc", "channels": 8, "activation": "relu"},
                     {"kind": "flatten", "module": "enc"}],
         "decoder": [{"kind": "linear", "module": "dec_fc", "channels": 512, "activation": "silu"},
                     {"kind": "unflatten", "channels": 8},
                     {"kind": "deconv", "module": "dec", "channels": 6, "activation": "relu"},
                     {"kind": "conv", "module": "dec", "kernel": 3, "stride": 1, "padding": 1}]}
        """
        try model.write(toFile: file, atomically: true, encoding: .utf8)
        var r = try vae(["train", data, "--model", file, "--batch", "4", "--epochs", "1", "--out", folder + "/run"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["reconstruct", folder + "/run", data, "--out", folder + "/sheet.png"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try vae(["train", data, "--model", file, "--size", "32"])
        #expect(r.status != 0 && r.stderr.contains("--model describes the whole model: drop --size"))
        try model.replacingOccurrences(of: "512", with: "500").write(toFile: file, atomically: true, encoding: .utf8)
        r = try vae(["train", data, "--model", file])
        #expect(r.status != 0 && r.stderr.contains("\(file): decoder block 2 (unflatten): 500 features do not make 8 square planes"))
        try "{\"size\": 16".write(toFile: file, atomically: true, encoding: .utf8)
        r = try vae(["train", data, "--model", file])
        #expect(r.status != 0 && r.stderr.contains("\(file): not a model description"))
    }

    /// vae bench --model FILE: the model of a block-list file or a run's config.json (with that run's batch)
    /// is timed and named; a broken file or a clashing flag is refused in one line.
    @Test func benchTimesAModelFile() throws {
        let data = try makeImageFolder(count: 6)
        let folder = temporaryFolder("vae-bench-model"), file = folder + "/model.json"
        let model = """
        {"size": 16, "channels": 3, "latent": 4, "likelihood": "logistic", "mixtures": 2,
         "encoder": [{"kind": "conv", "module": "enc", "channels": 8, "activation": "silu"},
                     {"kind": "residual", "module": "enc"},
                     {"kind": "flatten", "module": "enc"}],
         "decoder": [{"kind": "linear", "module": "dec_fc", "channels": 512},
                     {"kind": "unflatten", "channels": 8},
                     {"kind": "upsample", "module": "dec"},
                     {"kind": "conv", "module": "dec", "kernel": 3, "stride": 1, "padding": 1}]}
        """
        try model.write(toFile: file, atomically: true, encoding: .utf8)
        var r = try vae(["bench", "--model", file, "--steps", "2", "--threads", "1"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("train_images_per_s") && r.stdout.contains("(\(file), batch 64, threads 1, shards 1)"), "\(r.stdout)")
        #expect(r.stdout.contains("infer_images_per_s"), "\(r.stdout)")
        // A run's config.json: its batch (3) unless --batch says otherwise, and the run's parameter count.
        r = try vae(["train", data, "--model", file, "--batch", "3", "--epochs", "1", "--out", folder + "/run"])
        #expect(r.status == 0, "\(r.stderr)")
        let config = folder + "/run/config.json"
        r = try vae(["bench", "--model", config, "--steps", "2", "--threads", "2"], timeout: 120)
        #expect(r.status == 0 && r.stdout.contains("(\(config), batch 3, threads 2, shards 2)"), "\(r.stdout)\(r.stderr)")
        let weights = try Data(contentsOf: URL(fileURLWithPath: folder + "/run/model.safetensors"))
        let header = Int(weights.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        #expect(r.stdout.contains("params \((weights.count - 8 - header) / 4)\n"), "\(r.stdout)")
        r = try vae(["bench", "--model", config, "--steps", "2", "--batch", "5", "--threads", "1"], timeout: 120)
        #expect(r.status == 0 && r.stdout.contains("batch 5,"), "\(r.stdout)\(r.stderr)")
        for (flags, message) in [(["--preset", "rgb64"], "--model describes the whole model: drop --preset"),
                                 (["--arch", "resnet"], "--model describes the whole model: drop --arch"),
                                 ([String](), "\(file): not a model description")] {
            if flags.isEmpty { try "{\"size\": 16".write(toFile: file, atomically: true, encoding: .utf8) }
            r = try vae(["bench", "--model", file, "--steps", "2"] + flags, timeout: 60)
            #expect(r.status == 64 && r.stderr.contains(message), "\(flags): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(flags): \(r.stderr)")
        }
        r = try vae(["bench", "--model", folder + "/missing.json", "--steps", "2"], timeout: 60)
        #expect(r.status == 64 && r.stderr.contains("missing.json: cannot read the model file"), "\(r.stderr)")
    }
}
