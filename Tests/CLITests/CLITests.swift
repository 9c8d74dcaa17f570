// End-to-end tests: the built `vae` binary run on small folders, its output and exit status checked.
import Foundation
import Testing
import TestSupport
import ImageIO

/// The `vae` executable: $VAE_BINARY, or the one built next to the test runner.
func vaeBinary() throws -> URL {
    if let path = ProcessInfo.processInfo.environment["VAE_BINARY"] { return URL(fileURLWithPath: path) }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("vae")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw CLIError("vae binary not found near \(CommandLine.arguments[0]); run 'swift build' first or set VAE_BINARY")
}

/// The image cache of every `vae` the tests start: a temporary folder of this test run, so that
/// tests never write into the checkout's Output/.
let testCacheFolder = temporaryFolder("vae-test-cache")

/// This process's environment with VAE_CACHE pointing at `testCacheFolder`.
func vaeEnvironment() -> [String: String] {
    ProcessInfo.processInfo.environment.merging(["VAE_CACHE": testCacheFolder]) { $1 }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `vae` with `arguments`, waiting at most `timeout` seconds.
@discardableResult
func vae(_ arguments: [String], timeout: Double = 300, signalAfter: (Double, Int32)? = nil) throws -> Result {
    let process = Process()
    process.executableURL = try vaeBinary()
    process.arguments = arguments
    process.environment = vaeEnvironment()
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    final class Box: @unchecked Sendable { var data = Data() }
    let outData = Box(), errData = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outData.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    if let (delay, sig) = signalAfter {
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { kill(process.processIdentifier, sig) }
    }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        process.terminate()
        throw CLIError("vae \(arguments.joined(separator: " ")) did not finish in \(timeout) s")
    }
    process.waitUntilExit()
    return Result(status: process.terminationStatus, stdout: String(decoding: outData.data, as: UTF8.self),
                  stderr: String(decoding: errData.data, as: UTF8.self))
}

/// A folder of small generated images: coloured discs and squares, one PNG each.
func makeImageFolder(count: Int, size: Int = 16) throws -> String {
    let folder = temporaryFolder("vae-cli-data")
    for i in 0..<count {
        var image = Image(width: size + i % 3, height: size, channels: 3, fill: 0)
        let r = Float(3 + i % 4), cx = Float(size / 2 + i % 5 - 2), cy = Float(size / 2 + (i / 5) % 5 - 2)
        for y in 0..<size { for x in 0..<image.width {
            let inside = i % 2 == 0 ? hypot(Float(x) - cx, Float(y) - cy) <= r : max(abs(Float(x) - cx), abs(Float(y) - cy)) <= r
            if inside { image[x, y, 0] = Float(i % 3) / 2; image[x, y, 1] = 1 - Float(i % 3) / 2; image[x, y, 2] = 0.8 }
        } }
        try image.writePNG(to: folder + String(format: "/img-%03d.png", i))
    }
    return folder
}

func pngSize(_ path: String) throws -> (Int, Int) {
    let image = try ImageDecoder.decode(file: path)
    return (image.width, image.height)
}

@Suite(.serialized) struct CLITests {
    @Test func helpExplainsEverySubcommand() throws {
        let r = try vae(["--help"])
        #expect(r.status == 0)
        for command in ["train", "sample", "fit-prior", "reconstruct", "interpolate", "traverse", "encode", "decode", "explore", "evaluate", "inspect", "cache", "bench"] {
            #expect(r.stdout.contains(command), "\(command) missing from --help")
            let sub = try vae([command, "--help"])
            #expect(sub.status == 0 && sub.stdout.contains("USAGE"), "vae \(command) --help")
        }
    }

    @Test func inspectReportsEachFileAndExitsOneOnFailure() throws {
        let folder = try makeImageFolder(count: 3)
        var r = try vae(["inspect", folder])
        #expect(r.status == 0)
        #expect(r.stdout.contains("ok \(folder)/img-000.png 16x16 3ch 8bit PNG"))
        #expect(r.stdout.contains("3 files: 3 ok, 0 failed"))
        try Data("GIF89a".utf8).write(to: URL(fileURLWithPath: folder + "/broken.png"))
        r = try vae(["inspect", folder])
        #expect(r.status == 1)
        #expect(r.stdout.contains("error \(folder)/broken.png: not a PNG or JPEG file (starts with 'GIF8')"))
        #expect(r.stdout.contains("4 files: 3 ok, 1 failed"))
        r = try vae(["inspect", "/nonexistent-folder"])
        #expect(r.status == 1 && r.stdout.contains("no such file or folder"))
    }

    @Test func badOptionsAreRefusedWithAHint() throws {
        let folder = try makeImageFolder(count: 2)
        var r = try vae(["train", folder, "--preset", "mnist"])
        #expect(r.status != 0 && r.stderr.contains("unknown preset 'mnist'"))
        r = try vae(["train", folder, "--size", "30", "--widths", "8,16"])
        #expect(r.status != 0 && r.stderr.contains("not divisible by 4"))
        let empty = temporaryFolder("vae-empty")
        r = try vae(["train", empty, "--size", "16", "--out", empty + "/run"])
        #expect(r.status != 0 && r.stderr.contains("no PNG or JPEG images found"))
        r = try vae(["sample", empty])
        #expect(r.status != 0 && r.stderr.contains("no checkpoint here"))
        r = try vae(["train", folder, "--size", "16", "--average-decay", "1"])
        #expect(r.status != 0 && r.stderr.contains("--average-decay must be at least 0 and below 1"))
    }

    /// Train 2 epochs on a tiny folder with one broken file, then use every command on the run.
    @Test func trainThenSampleReconstructInterpolateEvaluate() throws {
        let folder = try makeImageFolder(count: 24)
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]).write(to: URL(fileURLWithPath: folder + "/zz-broken.png"))
        let run = temporaryFolder("vae-run") + "/run"
        let r = try vae(["train", folder, "--size", "16", "--widths", "8,16", "--latent", "4", "--epochs", "2",
                         "--batch", "8", "--out", run, "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("zz-broken.png"), "the skipped file is named")
        #expect(r.stdout.contains("epoch 2/2"))
        for file in ["model.safetensors", "config.json", "training_state.safetensors", "metrics.jsonl", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + file), "\(file)")
        }
        // 16 px images shown at 4×: 8 columns of 64 px with 2 px gaps; two rows of inputs and reconstructions.
        // 24 readable images, 5 % held out: one validation image above its reconstruction.
        #expect(try pngSize(run + "/reconstructions.png") == (64 + 2 * 2, 2 * 64 + 3 * 2))
        #expect(try pngSize(run + "/samples.png") == (8 * 64 + 9 * 2, 8 * 64 + 9 * 2))
        let metrics = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(metrics.count == 2)
        let report = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        #expect(report.contains("<svg") && report.contains("samples.png"))
        // The saved configuration names the initialisation used: He-normal unless asked otherwise.
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/config.json")))
                                  as? [String: Any])
        #expect((config["model"] as? [String: Any])?["initialization"] as? String == "kaiming")

        var s = try vae(["sample", run, "--count", "6", "--out", run + "/s.png", "--scale", "1", "--separate", run + "/each"])
        #expect(s.status == 0)
        #expect(try pngSize(run + "/s.png") == (3 * 16 + 4 * 2, 2 * 16 + 3 * 2))
        #expect(try FileManager.default.contentsOfDirectory(atPath: run + "/each").count == 6)
        s = try vae(["reconstruct", run, folder + "/img-000.png", folder + "/img-001.png", "--out", run + "/r.png", "--scale", "1"])
        #expect(s.status == 0)
        #expect(try pngSize(run + "/r.png") == (2 * 16 + 3 * 2, 2 * 16 + 3 * 2))
        s = try vae(["interpolate", run, folder + "/img-000.png", folder + "/img-005.png", "--steps", "4", "--slerp",
                     "--out", run + "/i.png", "--frames", run + "/frames", "--scale", "2"])
        #expect(s.status == 0)
        #expect(try pngSize(run + "/i.png") == (6 * 32 + 7 * 2, 32 + 2 * 2))
        #expect(try FileManager.default.contentsOfDirectory(atPath: run + "/frames").count == 6)
        s = try vae(["evaluate", run, folder, "--k", "5"])
        #expect(s.status == 0)
        #expect(s.stdout.contains("neg_elbo") && s.stdout.contains("iwae_k5") && s.stdout.contains("active_units"))
    }

    /// 2 epochs, then 2 more with --resume, equal 4 epochs straight: weights and metrics, bit for bit,
    /// with the weights averaged (the default) and without.
    @Test(arguments: ["0.99", "0"]) func resumeIsExact(averageDecay: String) throws {
        let folder = try makeImageFolder(count: 20)
        let base = temporaryFolder("vae-resume")
        let common = ["--size", "16", "--widths", "8,16", "--latent", "4", "--batch", "6", "--seed", "3",
                      "--average-decay", averageDecay]
        #expect(try vae(["train", folder, "--epochs", "4", "--out", base + "/straight"] + common).status == 0)
        #expect(try vae(["train", folder, "--epochs", "2", "--out", base + "/split"] + common).status == 0)
        let refused = try vae(["train", "--resume", base + "/split", "--average-decay", "0.5"])
        #expect(refused.status != 0 && refused.stderr.contains("--average-decay cannot change when resuming"))
        let unguarded = try vae(["train", "--resume", base + "/split", "--skip-spikes", "0"])
        #expect(unguarded.status != 0 && unguarded.stderr.contains("--skip-spikes cannot change when resuming"), "\(unguarded.stderr)")
        // The default guard is recorded, and its (empty) count is in every metrics line.
        let config = try String(contentsOfFile: base + "/split/config.json", encoding: .utf8)
        #expect(config.contains("\"skipSpikes\" : 20"), "\(config)")
        #expect(try String(contentsOfFile: base + "/split/metrics.jsonl", encoding: .utf8).contains("\"spikeSteps\":0"))
        let resumed = try vae(["train", "--resume", base + "/split", "--epochs", "4"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: base + "/straight/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: base + "/split/model.safetensors"))
        #expect(a == b, "weights differ after resuming")
        func lossFields(_ run: String) throws -> [String] {
            try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
                // Everything but the timings.
                line.split(separator: ",").filter { !$0.contains("imagesPerSecond") && !$0.contains("elapsedSeconds") }
                    .joined(separator: ",")
            }
        }
        #expect(try lossFields(base + "/straight") == lossFields(base + "/split"))
        // The training state keeps the last iterate, and the average when the saved model is one,
        // so that it alone can restore the checkpoint.
        let state = try String(decoding: Data(contentsOf: URL(fileURLWithPath: base + "/split/training_state.safetensors")).prefix(4096),
                               as: UTF8.self)
        #expect(state.contains("weights.iterate"))
        #expect(state.contains("weights.average") == (averageDecay != "0"))
        let again = try vae(["train", "--resume", base + "/split", "--epochs", "4"])
        #expect(again.status == 0 && again.stdout.contains("already trained 4 epochs"))
    }

    /// Ctrl-C mid-epoch saves a checkpoint; resuming it gives the same weights as a run never stopped.
    @Test func interruptSavesACheckpointThatResumesExactly() throws {
        let folder = try makeImageFolder(count: 40, size: 32)
        let base = temporaryFolder("vae-int")
        let common = ["--size", "32", "--batch", "4", "--seed", "5"]
        let r = try vae(["train", folder, "--epochs", "2000", "--out", base + "/run"] + common, signalAfter: (3, SIGINT))
        #expect(r.status == 130, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("vae train --resume \(base)/run"))
        // "interrupted: checkpoint saved in … at epoch E, step S of N."
        let epoch = try #require(r.stdout.firstMatch(of: #/at epoch (\d+), step/#).flatMap { Int($0.1) })
        #expect(try vae(["sample", base + "/run", "--count", "2", "--out", base + "/s.png"]).status == 0)
        let resumed = try vae(["train", "--resume", base + "/run", "--epochs", "\(epoch)"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let straight = try vae(["train", folder, "--epochs", "\(epoch)", "--out", base + "/straight"] + common)
        #expect(straight.status == 0)
        let a = try Data(contentsOf: URL(fileURLWithPath: base + "/run/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: base + "/straight/model.safetensors"))
        #expect(a == b, "weights differ after an interrupted epoch was resumed")
    }

    /// kill's SIGTERM does what Ctrl-C does: the run stops after the step with a checkpoint,
    /// says how to continue, and exits with the shell's status for the signal (128 + 15).
    @Test func sigtermSavesACheckpointLikeCtrlC() throws {
        let folder = try makeImageFolder(count: 40, size: 32)
        let run = temporaryFolder("vae-term") + "/run"
        let r = try vae(["train", folder, "--epochs", "2000", "--size", "32", "--batch", "4", "--out", run], signalAfter: (3, SIGTERM))
        #expect(r.status == 143, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("interrupted: checkpoint saved in") && r.stdout.contains("vae train --resume \(run)"), "\(r.stdout)")
        let epoch = try #require(r.stdout.firstMatch(of: #/at epoch (\d+), step/#).flatMap { Int($0.1) })
        let resumed = try vae(["train", "--resume", run, "--epochs", "\(epoch)"])
        #expect(resumed.status == 0 && resumed.stdout.contains("resuming in"), "\(resumed.stdout) \(resumed.stderr)")
    }

    /// An absurd learning rate makes the model diverge: the run stops with advice, exit status 2,
    /// and leaves a checkpoint with finite weights.
    @Test func divergenceStopsWithAdviceAndAFiniteCheckpoint() throws {
        let folder = try makeImageFolder(count: 12)
        let run = temporaryFolder("vae-div") + "/run"
        let r = try vae(["train", folder, "--size", "16", "--widths", "8", "--latent", "2", "--epochs", "20",
                         "--lr", "1e9", "--out", run])
        #expect(r.status == 2, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("Try a lower learning rate"))
        // The clip suggested is five times the run's own gradient norm, not a fixed number.
        #expect(r.stdout.contains("clip the rare huge gradients: --clip-norm ") && r.stdout.contains("this run's gradient norm was about"),
                "\(r.stdout)")
        let metrics = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        #expect(!metrics.isEmpty && metrics.split(separator: "\n").count < 20)
        // Loading checks every weight is finite.
        #expect(try vae(["sample", run, "--count", "2", "--out", run + "/s.png"]).status == 0)
    }

    @Test func aCorruptCheckpointGivesAClearError() throws {
        let folder = try makeImageFolder(count: 8)
        let run = temporaryFolder("vae-corrupt") + "/run"
        #expect(try vae(["train", folder, "--size", "16", "--widths", "8", "--latent", "2", "--epochs", "1", "--out", run]).status == 0)
        let path = run + "/model.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        let r = try vae(["sample", run])
        #expect(r.status != 0)
        #expect(r.stderr.contains("model.safetensors") && r.stderr.contains("truncated"), "\(r.stderr)")
    }

    /// A run whose training state lacks the weights that Adam updates (saved without averaging,
    /// its config then edited to average) cannot resume: the error names the state file.
    @Test func aTrainingStateWithoutItsWeightsIsRefusedOnResume() throws {
        let folder = try makeImageFolder(count: 8)
        let run = temporaryFolder("vae-iterate") + "/run"
        #expect(try vae(["train", folder, "--size", "16", "--widths", "8", "--latent", "2", "--epochs", "1",
                         "--average-decay", "0", "--out", run]).status == 0)
        let configPath = run + "/config.json"
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath)))
                                  as? [String: Any])
        var training = try #require(config["training"] as? [String: Any])
        training["averageDecay"] = 0.99
        config["training"] = training
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let r = try vae(["train", "--resume", run, "--epochs", "2"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("training_state.safetensors") && r.stderr.contains("training weights are missing"),
                "\(r.stderr)")
    }

    /// The safetensors header is JSON with PyTorch's names, shapes and dtype.
    @Test func safetensorsHeaderParses() throws {
        let folder = try makeImageFolder(count: 8)
        let run = temporaryFolder("vae-st") + "/run"
        #expect(try vae(["train", folder, "--size", "16", "--widths", "4,8", "--hidden", "10", "--latent", "3",
                         "--channels", "1", "--epochs", "1", "--out", run]).status == 0)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        let expected: [String: [Int]] = [
            "enc.0.weight": [4, 1, 4, 4], "enc.0.bias": [4], "enc.2.weight": [8, 4, 4, 4], "enc.2.bias": [8],
            "enc_fc.0.weight": [10, 128], "enc_fc.0.bias": [10], "mu.weight": [3, 10], "mu.bias": [3],
            "logvar.weight": [3, 10], "logvar.bias": [3], "dec_fc.0.weight": [10, 3], "dec_fc.0.bias": [10],
            "dec_fc.2.weight": [128, 10], "dec_fc.2.bias": [128], "dec.0.weight": [8, 4, 4, 4], "dec.0.bias": [4],
            "dec.2.weight": [4, 1, 4, 4], "dec.2.bias": [1],
            // Gray images' default prior, learned with the model: 32 components in 3 dimensions.
            "prior.means": [32, 3], "prior.log_scales": [32, 3], "prior.logits": [32],
            // And their default autoregressive term: linear, 5×5 (12 taps before the centre).
            "ar.weight": [1, 1, 12],
        ]
        var total = 0
        for (name, shape) in expected {
            let entry = try #require(header[name] as? [String: Any], "\(name)")
            #expect(entry["dtype"] as? String == "F32")
            #expect(entry["shape"] as? [Int] == shape, "\(name)")
            let offsets = try #require(entry["data_offsets"] as? [Int])
            #expect(offsets[1] - offsets[0] == 4 * shape.reduce(1, *))
            total += 4 * shape.reduce(1, *)
        }
        #expect(header.keys.filter { $0 != "__metadata__" }.count == expected.count)
        #expect(bytes.count == 8 + n + total)
    }
}
