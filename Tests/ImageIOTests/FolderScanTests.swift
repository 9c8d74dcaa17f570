// Hostile folders for FolderScan: link loops, FIFOs, unreadable folders, run folders.
import Foundation
import Testing
import TestSupport
@testable import ImageIO

/// Runs `body` on its own thread and gives up waiting after `seconds`: a scan that loops for ever
/// then fails the test instead of hanging the test run (the thread is abandoned).
func returning<T: Sendable>(within seconds: Double, _ body: @escaping @Sendable () throws -> T) throws -> T? {
    let box = ResultBox<T>(), done = DispatchSemaphore(value: 0)
    Thread { box.result = Swift.Result { try body() }; done.signal() }.start()
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return try box.result!.get()
}

final class ResultBox<T>: @unchecked Sendable { var result: Swift.Result<T, Error>? }

func writeTinyPNG(_ path: String) throws {
    try Data(Image(width: 1, height: 1, channels: 1).pngData()).write(to: URL(fileURLWithPath: path))
}

func makeLink(_ path: String, to target: String) throws {
    try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
}

@Suite struct FolderScanTests {
    @Test func linkLoopsAreWalkedOnceAndEachImageListedOnce() throws {
        let top = temporaryFolder("vae-scan-loops")
        let data = top + "/data"
        try FileManager.default.createDirectory(atPath: data + "/sub/deeper", withIntermediateDirectories: true)
        try writeTinyPNG(top + "/outside.png")          // beside the data folder: must not be read
        try writeTinyPNG(data + "/a.png")
        try writeTinyPNG(data + "/sub/b.png")
        try writeTinyPNG(data + "/sub/deeper/c.png")
        try makeLink(data + "/loop", to: ".")
        try makeLink(data + "/loop2", to: ".")
        try makeLink(data + "/up", to: "..")
        try makeLink(data + "/sub/back", to: "..")
        try makeLink(data + "/sub/deeper/top", to: "../../..")
        try makeLink(data + "/alias", to: "sub")              // a second way into sub
        guard let result = try returning(within: 60, { try FolderScan.scan([data]) }) else {
            Issue.record("the scan did not return within a minute")
            return
        }
        #expect(result.files == [data + "/a.png", data + "/sub/b.png", data + "/sub/deeper/c.png"])
        let skipped = Set(result.notes.map(\.path))
        #expect(skipped == [data + "/loop", data + "/loop2", data + "/up", data + "/sub/back",
                            data + "/sub/deeper/top", data + "/alias"])
        #expect(result.notes.allSatisfy { $0.kind == .alreadyScanned })
    }

    @Test func aFolderNamedTwiceIsReadOnce() throws {
        let data = temporaryFolder("vae-scan-twice")
        try FileManager.default.createDirectory(atPath: data + "/sub", withIntermediateDirectories: true)
        try writeTinyPNG(data + "/sub/b.png")
        let result = try FolderScan.scan([data, data + "/sub"])
        #expect(result.files == [data + "/sub/b.png"])
        #expect(result.notes.map(\.description) == [data + "/sub: already scanned, reached by another path or link: skipped"])
    }

    @Test func fifosAreSkippedWithANoteInFoldersAndAsArguments() throws {
        let data = temporaryFolder("vae-scan-fifo")
        try writeTinyPNG(data + "/a.png")
        #expect(mkfifo(data + "/pipe.png", 0o644) == 0)
        let outside = temporaryFolder("vae-scan-fifo-arg") + "/pipe"
        #expect(mkfifo(outside, 0o644) == 0)
        guard let result = try returning(within: 60, { try FolderScan.scan([data, outside]) }) else {
            Issue.record("the scan blocked on a FIFO")
            return
        }
        #expect(result.files == [data + "/a.png"])
        #expect(result.notes.map(\.description) == [data + "/pipe.png: a FIFO, not a regular file: skipped",
                                                    outside + ": a FIFO, not a regular file: skipped"])
        // Read directly, a FIFO is refused at once rather than waited on for a writer.
        let read = try returning(within: 60) { () -> String in
            do { _ = try ImageDecoder.readFile(outside, limit: 1 << 20); return "read" } catch { return "\(error)" }
        }
        #expect(read == outside + ": cannot read file (a FIFO, not a regular file)")
        #expect(try returning(within: 60) { ImageDecoder.sniff(file: outside) == nil } == true)
    }

    @Test func anUnreadableFolderIsNotedAndTheRestIsRead() throws {
        let data = temporaryFolder("vae-scan-unreadable")
        try writeTinyPNG(data + "/a.png")
        let blocked: String
        if getuid() != 0 {
            blocked = data + "/locked"
            try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: true)
            try writeTinyPNG(blocked + "/hidden.png")
            #expect(chmod(blocked, 0) == 0)
        } else {
            // Root reads through chmod 000, so make opendir fail another way: a folder whose path
            // is longer than PATH_MAX, built one level at a time relative to its parent.
            blocked = try makeFolder(under: data, longerThan: Int(PATH_MAX))
        }
        defer { _ = chmod(blocked, 0o755) }
        let result = try FolderScan.scan([data])
        #expect(result.files == [data + "/a.png"])
        #expect(result.notes.count == 1)
        #expect(result.notes.first?.kind == .unreadableFolder)
        #expect(result.notes.first.map { blocked.hasPrefix($0.path) && $0.reason.hasPrefix("cannot read folder (") } == true)
    }

    @Test func runFoldersAreNotData() throws {
        let data = temporaryFolder("vae-scan-runs")
        let run = data + "/run", resumable = data + "/state-only", notRun = data + "/config-only"
        for folder in [run, resumable, notRun] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try writeTinyPNG(folder + "/samples.png")
            try Data("{}".utf8).write(to: URL(fileURLWithPath: folder + "/config.json"))
        }
        try Data().write(to: URL(fileURLWithPath: run + "/model.safetensors"))
        try Data().write(to: URL(fileURLWithPath: resumable + "/training_state.safetensors"))
        try writeTinyPNG(data + "/a.png")
        let result = try FolderScan.scan([data])
        #expect(result.files == [data + "/a.png", notRun + "/samples.png"])
        #expect(result.notes.map(\.description).sorted() == [
            run + ": a vae run folder (config.json, model.safetensors), not data: skipped",
            resumable + ": a vae run folder (config.json, training_state.safetensors), not data: skipped",
        ])
    }

    @Test func aBrokenLinkIsNoted() throws {
        let data = temporaryFolder("vae-scan-broken-link")
        try makeLink(data + "/gone.png", to: "nowhere.png")
        let result = try FolderScan.scan([data])
        #expect(result.files.isEmpty)
        #expect(result.notes.map(\.kind) == [.brokenLink])
    }
}

/// Creates nested folders under `parent` until the deepest one's path is longer than `length`
/// characters, using mkdirat/openat (path-based calls refuse such paths); returns that path.
func makeFolder(under parent: String, longerThan length: Int) throws -> String {
    let name = String(repeating: "d", count: 200)
    var fd = open(parent, O_RDONLY | O_DIRECTORY)
    var path = parent
    defer { close(fd) }
    while path.utf8.count <= length {
        guard mkdirat(fd, name, 0o755) == 0 else { throw ImageIOError.writeFailed(path: path, reason: "mkdirat failed") }
        let next = openat(fd, name, O_RDONLY | O_DIRECTORY)
        guard next >= 0 else { throw ImageIOError.writeFailed(path: path, reason: "openat failed") }
        close(fd)
        fd = next
        path += "/" + name
    }
    return path
}
