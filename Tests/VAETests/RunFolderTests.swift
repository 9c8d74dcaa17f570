// Run folders: the lock, what a new run may write into, stale temporaries, metrics lines.
import Foundation
import Testing
import TestSupport
import ImageIO
@testable import VAE

@Suite struct RunFolderTests {
    /// flock locks belong to an open file, so a second RunFolder on the same folder is refused
    /// even in this process, until the first is gone.
    @Test func aLockedFolderIsRefusedUntilReleased() throws {
        let path = temporaryFolder("vae-lock") + "/run"
        var first: RunFolder? = try RunFolder.newRun(at: path, force: false)
        try first?.writeConfig(CheckpointTests.run(averageDecay: nil))
        #expect(throws: RunFolderError.locked(folder: path)) { try RunFolder.existingRun(at: path) }
        #expect(throws: RunFolderError.locked(folder: path)) { try RunFolder.newRun(at: path, force: true) }
        #expect(first != nil)
        first = nil
        #expect(try RunFolder.existingRun(at: path).path == path)
    }

    @Test func aNewRunRefusesAFolderWithOtherFilesUnlessForced() throws {
        let path = temporaryFolder("vae-notempty")
        try Data("mine".utf8).write(to: URL(fileURLWithPath: path + "/metrics.jsonl"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: path + "/notes.txt"))
        #expect(throws: RunFolderError.notEmpty(folder: path, examples: ["notes.txt"], total: 1)) {
            try RunFolder.newRun(at: path, force: false)
        }
        #expect(try String(contentsOfFile: path + "/metrics.jsonl", encoding: .utf8) == "mine")
        #expect(try RunFolder.newRun(at: path, force: true).path == path)
        #expect(FileManager.default.fileExists(atPath: path + "/notes.txt"))
    }

    /// A folder holding a run is pointed to --resume; with --force its old checkpoint goes, so the
    /// new settings never sit beside an old state.
    @Test func aRunFolderIsNotTakenOverSilently() throws {
        let path = temporaryFolder("vae-holdsrun")
        for name in ["config.json", "training_state.safetensors", "model.safetensors"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: path + "/" + name))
        }
        #expect(throws: RunFolderError.holdsRun(folder: path, trained: true)) { try RunFolder.newRun(at: path, force: false) }
        _ = try RunFolder.newRun(at: path, force: true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).isEmpty)
    }

    /// Temporaries of writers that have ended are deleted; those of a live process are kept.
    @Test func staleTemporariesAreRemoved() throws {
        let path = temporaryFolder("vae-stale")
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = AtomicFile.temporaryName(for: "model.safetensors", pid: ended.processIdentifier)
        let live = AtomicFile.temporaryName(for: "samples.png", pid: 1)
        for name in [dead, live, "config.json"] { try Data("x".utf8).write(to: URL(fileURLWithPath: path + "/" + name)) }
        let folder = try RunFolder.existingRun(at: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).sorted() == [live, "config.json"].sorted())
        #expect(folder.removeStaleTemporaries().isEmpty)
        #expect(AtomicFile.writer(ofTemporary: dead) == ended.processIdentifier)
        #expect(AtomicFile.writer(ofTemporary: "notes.tmp-12") == nil && AtomicFile.writer(ofTemporary: ".tmp-12") == nil)
    }

    /// A line for an epoch replaces one already there, and lines past the checkpoint are dropped.
    @Test func metricsLinesFollowTheCheckpoint() throws {
        let log = MetricsLog(folder: temporaryFolder("vae-metrics"))
        func line(_ epoch: Int, _ loss: Double) -> EpochMetrics {
            EpochMetrics(epoch: epoch, step: epoch * 5, trainLoss: loss, trainNegELBO: loss, trainReconstruction: loss, trainKL: 0,
                         trainBitsPerDim: 1, skippedSteps: 0, imagesPerSecond: 1, elapsedSeconds: 1)
        }
        try log.append(line(1, 10))
        try log.append(line(2, .nan))
        try log.append(line(2, 9))
        #expect(log.read().map(\.trainLoss) == [10, 9])
        try log.trim(after: 1)
        #expect(log.read().map(\.epoch) == [1])
    }

    /// The same files give the same fingerprint whether their folder was named relatively or
    /// absolutely; fingerprints from before are compared by their image count alone.
    @Test func fingerprintsDoNotDependOnHowTheFolderWasNamed() {
        let cwd = FileManager.default.currentDirectoryPath
        let relative = DataFingerprint.of(paths: ["data/a.png", "data/sub/b.png"], folders: ["data"])
        let absolute = DataFingerprint.of(paths: [cwd + "/data/a.png", cwd + "/data/sub/b.png"], folders: [cwd + "/data/"])
        let moved = DataFingerprint.of(paths: ["/elsewhere/a.png", "/elsewhere/sub/b.png"], folders: ["/elsewhere"])
        #expect(relative == absolute && relative == moved)
        #expect(relative != DataFingerprint.of(paths: ["data/a.png", "data/sub/c.png"], folders: ["data"]))
        #expect(DataFingerprint.matches(saved: "9a3f-2", current: relative))
        #expect(!DataFingerprint.matches(saved: "9a3f-3", current: relative))
        #expect(!DataFingerprint.matches(saved: "v2-1-2", current: relative))
    }

    /// The fingerprint standardizes each folder once rather than each path: the same value as
    /// standardizing every path, as fingerprints saved before did, on paths with ., .., // and links.
    @Test func fingerprintsEqualThoseOfEveryPathStandardizedAlone() {
        let paths = ["data/a.png", "./data/b.png", "data/../data/c.png", "data//d.png", "data/sub/./e.png", "/f.png", "g.png",
                     "data/sub/..", "data/sub/.", "/", "data/", "/tmp/../tmp/h.png", "../up/i.png"]
        let folders = ["data", "/tmp"]
        let roots = folders.map(DataFingerprint.absolute)
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for path in paths {
            for b in DataFingerprint.relative(DataFingerprint.absolute(path), to: roots).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 10) &* 0x100_0000_01b3
        }
        #expect(DataFingerprint.of(paths: paths, folders: folders) == "v2-" + String(h, radix: 16) + "-\(paths.count)")
        var memo: [Substring: String] = [:]
        for path in paths { #expect(DataFingerprint.absolute(path, folders: &memo) == DataFingerprint.absolute(path), "\(path)") }
    }
}
