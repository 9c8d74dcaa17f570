// vae train and its run folder: --out, --force, the lock, checkpoints cut short, resume flags, --limit, messages.
import Foundation
import Testing
import TestSupport
import ImageIO

@Suite(.serialized) struct RunFolderCLITests {
    /// A folder of the user's files is not written into without --force, and nothing in it is touched.
    @Test func outOnAFolderWithOtherFilesIsRefusedUnlessForced() throws {
        let out = temporaryFolder("vae-out")
        for name in ["metrics.jsonl", "report.html", "notes.txt"] { try Data("mine".utf8).write(to: URL(fileURLWithPath: out + "/" + name)) }
        let r = try vae(["train", sampleData, "--epochs", "1", "--out", out] + tinyModel)
        #expect(r.status == 1)
        #expect(r.stderr == "Error: \(out): the folder is not empty and is not a run folder (it holds notes.txt); "
                + "choose another --out, or pass --force to write into it\n")
        for name in ["metrics.jsonl", "report.html", "notes.txt"] { #expect(bytes(out + "/" + name) == Data("mine".utf8)) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).count == 3)
        let forced = try vae(["train", sampleData, "--epochs", "1", "--out", out, "--force"] + tinyModel)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(lossLines(out).count == 1 && bytes(out + "/notes.txt") == Data("mine".utf8))
        let again = try vae(["train", sampleData, "--epochs", "1", "--out", out] + tinyModel)
        #expect(again.status == 1 && again.stderr.contains("already holds a trained model: continue it with --resume \(out)"))
    }

    /// While one `vae train` runs in a folder, a second one into it (resumed or new) is refused.
    @Test func aSecondTrainIntoALockedFolderIsRefused() throws {
        let run = temporaryFolder("vae-locked") + "/run"
        let first = try VAEProcess(["train", sampleData, "--epochs", "1000000", "--out", run] + tinyModel)
        defer { first.signal(SIGKILL) }
        // metrics.jsonl comes at the end of the first epoch: the lock is held and Ctrl-C is caught by then.
        var waited = 0
        while bytes(run + "/metrics.jsonl") == nil && waited < 6000 { usleep(10_000); waited += 1 }
        let message = "Error: \(run): another 'vae train' is using this run folder (it is locked); wait for it to finish, or choose another folder\n"
        let resumed = try vae(["train", "--resume", run])
        #expect(resumed.status == 1 && resumed.stderr == message)
        let forced = try vae(["train", sampleData, "--epochs", "1", "--out", run, "--force"] + tinyModel)
        #expect(forced.status == 1 && forced.stderr == message)
        first.signal(SIGINT)
        let r = first.wait()
        #expect(r.status == 130 && r.stdout.contains("Continue with: vae train --resume \(run)"))
    }

    /// A save cut short between its two files (training state written, model not yet): resuming
    /// puts model.safetensors right and ends bit for bit where a run never stopped ends.
    @Test func aCheckpointCutShortIsRepairedOnResume() throws {
        let base = temporaryFolder("vae-cut")
        let common = tinyModel + ["--seed", "2"]
        #expect(try vae(["train", sampleData, "--epochs", "3", "--out", base + "/straight"] + common).status == 0)
        #expect(try vae(["train", sampleData, "--epochs", "1", "--out", base + "/cut"] + common).status == 0)
        let epochOne = try #require(bytes(base + "/cut/model.safetensors"))
        #expect(try vae(["train", "--resume", base + "/cut", "--epochs", "2"]).status == 0)
        try epochOne.write(to: URL(fileURLWithPath: base + "/cut/model.safetensors"))
        // A write cut short by a kill also leaves its temporary behind, named for a process now gone.
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let temporary = base + "/cut/.model.safetensors.tmp-\(ended.processIdentifier)"
        try Data(count: 1000).write(to: URL(fileURLWithPath: temporary))
        let r = try vae(["train", "--resume", base + "/cut", "--epochs", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("note: model.safetensors was not from the training state's checkpoint (epoch 2, step 10; "
                                  + "a save was cut short): written again from it"))
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(bytes(base + "/cut/model.safetensors") == bytes(base + "/straight/model.safetensors"))
        #expect(lossLines(base + "/cut") == lossLines(base + "/straight"))
    }

    /// Flags that agree with the saved run are accepted with --resume; changes are refused, each
    /// named with the saved and the given value, in one line.
    @Test func resumeAcceptsFlagsThatAgreeAndNamesChanges() throws {
        let run = temporaryFolder("vae-flags") + "/run"
        #expect(try vae(["train", sampleData, "--preset", "fmnist", "--epochs", "1", "--limit", "16", "--lr", "0.002",
                         "--out", run]).status == 0)
        let same = try vae(["train", sampleData, "--preset", "fmnist", "--epochs", "2", "--resume", run, "--lr", "0.002",
                            "--limit", "16", "--out", run, "--background", "#FFFFFF", "--fit", "crop"])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.contains("resuming in \(run): 16 images"))
        let changed = try vae(["train", "--resume", run, "--epochs", "3", "--preset", "rgb64", "--lr", "0.01", "--limit", "20",
                               "--background", "black"])
        #expect(changed.status == 1)
        #expect(changed.stderr == "Error: \(run): --preset rgb64 cannot change when resuming (saved 28×28×1 widths 32,64 hidden 256 latent 16, "
                + "given 64×64×3 widths 32,64,128,256 hidden none latent 128); --background cannot change when resuming "
                + "(saved white, given black); --lr cannot change when resuming (saved 0.002, given 0.01); --limit cannot change "
                + "when resuming (saved 16, given 20). A resumed run keeps its saved settings: drop these flags, or start a new run\n")
        // A preset with a flag that overrides it describes one shape: refused only when that shape differs.
        let overridden = try vae(["train", "--resume", run, "--preset", "fmnist", "--hidden", "128"])
        #expect(overridden.status == 1 && overridden.stderr.contains("--preset fmnist --hidden 128 cannot change when resuming "
                + "(saved 28×28×1 widths 32,64 hidden 256 latent 16, given 28×28×1 widths 32,64 hidden 128 latent 16)"))
        let elsewhere = try vae(["train", "--resume", run, "--out", run + "-other"])
        #expect(elsewhere.status != 0 && elsewhere.stderr.contains("--out cannot change when resuming"))
    }

    /// --limit is saved and used again on resume: the result equals a straight --limit run.
    @Test func limitIsKeptForResume() throws {
        let base = temporaryFolder("vae-limit")
        #expect(try vae(["train", sampleData, "--epochs", "2", "--limit", "20", "--out", base + "/straight"] + tinyModel).status == 0)
        #expect(try vae(["train", sampleData, "--epochs", "1", "--limit", "20", "--out", base + "/split"] + tinyModel).status == 0)
        let config = try String(contentsOfFile: base + "/split/config.json", encoding: .utf8)
        #expect(config.contains("\"limit\" : 20"))
        let r = try vae(["train", "--resume", base + "/split", "--epochs", "2"])
        #expect(r.status == 0 && r.stdout.contains("20 images (19 train, 1 validation)"), "\(r.stdout)")
        #expect(bytes(base + "/split/model.safetensors") == bytes(base + "/straight/model.safetensors"))
    }

    /// config.json of runs saved before --limit was kept has no "limit" and version 1: --limit
    /// given again on resume is taken, and the run ends as a straight --limit run does.
    @Test func anOldRunTrainedWithALimitTakesTheLimitGivenOnResume() throws {
        let base = temporaryFolder("vae-oldlimit")
        #expect(try vae(["train", sampleData, "--epochs", "2", "--limit", "20", "--out", base + "/straight"] + tinyModel).status == 0)
        #expect(try vae(["train", sampleData, "--epochs", "1", "--limit", "20", "--out", base + "/old"] + tinyModel).status == 0)
        let path = base + "/old/config.json"
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        config["limit"] = nil
        config["version"] = 1
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        let r = try vae(["train", "--resume", base + "/old", "--epochs", "2", "--limit", "20"])
        #expect(r.status == 0 && r.stdout.contains("20 images"), "\(r.stderr)")
        #expect(bytes(base + "/old/model.safetensors") == bytes(base + "/straight/model.safetensors"))
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("\"limit\" : 20"))
    }

    /// A run begun on a relative folder and resumed from another directory does not warn that its
    /// images changed; a real change still warns.
    @Test func resumingFromAnotherDirectoryDoesNotWarn() throws {
        let data = temporaryFolder("vae-moved")
        try FileManager.default.copyItem(atPath: sampleData, toPath: data + "/images")
        let run = data + "/run"
        #expect(try vae(["train", "images", "--epochs", "1", "--out", run] + tinyModel, in: data).status == 0)
        let r = try vae(["train", "--resume", run, "--epochs", "2"], in: "/")
        #expect(r.status == 0 && !(r.stdout + r.stderr).contains("image folder changed"), "\(r.stderr)")
        let named = try vae(["train", data + "/images", "--resume", run, "--epochs", "3"], in: "/tmp")
        #expect(named.status == 0 && !(named.stdout + named.stderr).contains("image folder changed"), "\(named.stderr)")
        try FileManager.default.removeItem(atPath: data + "/images/bar-03.png")
        let changed = try vae(["train", "--resume", run, "--epochs", "4"], in: "/")
        #expect((changed.stdout + changed.stderr).contains("warning: the image folder changed since this run was saved"))
    }

    /// One-letter names, which trap in the Linux Foundation's deletingLastPathComponent.
    @Test func oneLetterNamesWork() throws {
        let cwd = temporaryFolder("vae-short")
        let r = try vae(["train", sampleData, "--epochs", "1", "--out", "q"] + tinyModel, in: cwd)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try vae(["sample", "q", "--count", "2", "--out", "x"], in: cwd).status == 0)
        #expect(FileManager.default.fileExists(atPath: cwd + "/x"))
        #expect(try vae(["train", "--resume", "q/", "--epochs", "2"], in: cwd).status == 0)
    }

    /// A folder that cannot be made reads as path and cause, not as an NSCocoaErrorDomain dump.
    @Test func writeErrorsAreOneLineWithPathAndCause() throws {
        let base = temporaryFolder("vae-werr")
        try Data("x".utf8).write(to: URL(fileURLWithPath: base + "/file"))
        let r = try vae(["train", sampleData, "--epochs", "1", "--out", base + "/file/run"] + tinyModel)
        #expect(r.status == 1 && r.stderr == "Error: \(base)/file: cannot write (a file of that name is in the way)\n")
        #expect(try vae(["train", sampleData, "--epochs", "1", "--out", base + "/run"] + tinyModel).status == 0)
        let s = try vae(["sample", base + "/run", "--out", base + "/file/s.png"])
        #expect(s.status != 0 && !s.stderr.contains("NSCocoaErrorDomain") && s.stderr.split(separator: "\n").count == 1, "\(s.stderr)")
    }
}
