// The image cache: a hit gives what a fresh decode gives; added, removed and changed files are noticed; bad cache files are refused and rebuilt.
import Foundation
import Testing
import TestSupport
import ImageIO
@testable import VAE

@Suite struct DatasetCacheTests {
    static let prep = ImagePreparation(size: 6, channels: 3, fit: .pad, background: .gray)

    /// A folder of `count` small PNGs of different sizes and colours, a broken PNG and a text file.
    static func folder(count: Int = 12) throws -> String {
        let folder = temporaryFolder("vae-cache-data")
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        for i in 0..<count { try image(i).writePNG(to: folder + (i % 3 == 0 ? "/sub" : "") + String(format: "/img-%02d.png", i)) }
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: URL(fileURLWithPath: folder + "/broken.png"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: folder + "/notes.txt"))
        return folder
    }

    static func image(_ i: Int, shade: Float = 0) -> Image {
        var image = Image(width: 5 + i % 4, height: 7, channels: 3, fill: 0)
        for y in 0..<7 { for x in 0..<image.width { for c in 0..<3 { image[x, y, c] = Float((x * 7 + y * 3 + c * 5 + i) % 11) / 10 * (1 - shade) } } }
        return image
    }

    static func load(_ folder: String, cache: String?) throws -> ImageDataset {
        try ImageDataset(folders: [folder], preparation: prep, threads: 2, cache: cache.map { DatasetCache(folder: $0) })
    }

    /// The data set equals a fresh decode of the folder without a cache: images, paths, skipped files, fingerprint.
    static func expectFresh(_ dataset: ImageDataset, _ folder: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fresh = try load(folder, cache: nil)
        #expect(dataset.paths == fresh.paths, sourceLocation: sourceLocation)
        #expect(dataset.bytes.elementsEqual(fresh.bytes), sourceLocation: sourceLocation)
        #expect(dataset.skipped.map(\.path) == fresh.skipped.map(\.path), sourceLocation: sourceLocation)
        #expect(dataset.skipped.map(\.reason) == fresh.skipped.map(\.reason), sourceLocation: sourceLocation)
        #expect(DataFingerprint.of(paths: dataset.paths, folders: [folder]) == DataFingerprint.of(paths: fresh.paths, folders: [folder]),
                sourceLocation: sourceLocation)
    }

    static func cacheFiles(_ cache: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).filter { $0.hasSuffix(".vaecache") }.map { cache + "/" + $0 }
    }

    /// Sets a file's modification time `seconds` from now, as an edit later would.
    static func touch(_ path: String, seconds: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(seconds)], ofItemAtPath: path)
    }

    @Test func aHitGivesTheBytesAndPathsOfAFreshDecodeFromTheMappedFile() throws {
        let folder = try Self.folder(), cache = temporaryFolder("vae-cache")
        let first = try Self.load(folder, cache: cache)
        #expect(first.cacheReport?.hit == false && first.cacheReport?.decoded == 12 && first.cacheReport?.mapped == true)
        try Self.expectFresh(first, folder)
        #expect(Self.cacheFiles(cache).count == 1)
        let second = try Self.load(folder, cache: cache)
        let report = try #require(second.cacheReport)
        #expect(report.hit && report.decoded == 0 && report.reused == 12 && second.bytes.isMapped)
        #expect(report.lines == ["image cache: 12 images from \(report.path)"])
        try Self.expectFresh(second, folder)
        #expect(second.skipped.map(\.path) == [folder + "/broken.png"])
        // Gathered for training from the mapped file as from a buffer.
        var a = [Float](repeating: 0, count: 3 * second.imageFloats), b = a
        let fresh = try Self.load(folder, cache: nil)
        second.gather([4, 0, 11], into: &a)
        fresh.gather([4, 0, 11], into: &b)
        #expect(a == b)
        // Another preparation is another cache file; the first stays.
        _ = try ImageDataset(folders: [folder], preparation: ImagePreparation(size: 4, channels: 1), threads: 2,
                             cache: DatasetCache(folder: cache))
        #expect(Self.cacheFiles(cache).count == 2)
    }

    @Test func anAddedRemovedOrChangedFileIsNoticedAndOnlyItIsDecoded() throws {
        let folder = try Self.folder(), cache = temporaryFolder("vae-cache")
        _ = try Self.load(folder, cache: cache)
        // Added: one decoded, the rest from the cache.
        try Self.image(40).writePNG(to: folder + "/sub/added.png")
        var d = try Self.load(folder, cache: cache)
        #expect(d.cacheReport?.hit == false && d.cacheReport?.decoded == 1 && d.cacheReport?.reused == 12 && d.count == 13)
        try Self.expectFresh(d, folder)
        // Removed: nothing decoded, the file dropped.
        try FileManager.default.removeItem(atPath: folder + "/img-04.png")
        d = try Self.load(folder, cache: cache)
        #expect(d.cacheReport?.hit == false && d.cacheReport?.decoded == 0 && d.cacheReport?.removed == 1 && d.count == 12)
        try Self.expectFresh(d, folder)
        // Changed content, same size and a later time: decoded again.
        let path = folder + "/img-05.png"
        let size = try Data(contentsOf: URL(fileURLWithPath: path)).count
        try Self.image(5, shade: 0.5).writePNG(to: path)
        try Self.touch(path, seconds: 10)
        d = try Self.load(folder, cache: cache)
        #expect(d.cacheReport?.hit == false && d.cacheReport?.decoded == 1, "\(size)")
        try Self.expectFresh(d, folder)
        // Only the time changed: decoded again, same image.
        try Self.touch(folder + "/img-07.png", seconds: 20)
        d = try Self.load(folder, cache: cache)
        #expect(d.cacheReport?.decoded == 1)
        // Only the size changed (time set back to what the cache holds): decoded again.
        let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/img-08.png")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/img-08.png"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        try FileManager.default.setAttributes([.modificationDate: attributes[.modificationDate]!], ofItemAtPath: folder + "/img-08.png")
        d = try Self.load(folder, cache: cache)
        #expect(d.cacheReport?.hit == false && d.cacheReport?.decoded == 1)
        try Self.expectFresh(d, folder)
        // A broken file mended is decoded; then all hit.
        try Self.image(9).writePNG(to: folder + "/broken.png")
        d = try Self.load(folder, cache: cache)
        #expect(d.cacheReport?.decoded == 1 && d.skipped.isEmpty && d.count == 13)
        try Self.expectFresh(d, folder)
        #expect(try Self.load(folder, cache: cache).cacheReport?.hit == true)
    }

    @Test(arguments: ["truncated", "garbage", "foreign", "pixel", "padding", "index", "pixel, and a file changed"])
    func aBadCacheFileIsNamedRefusedAndRebuilt(_ damage: String) throws {
        let folder = try Self.folder(), cache = temporaryFolder("vae-cache")
        let path = try #require(try Self.load(folder, cache: cache).cacheReport?.path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        switch damage {
        case "truncated": bytes.removeLast(bytes.count / 3)
        case "garbage": bytes = (0..<bytes.count).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
        case "foreign": bytes = Array("VAECACHE".utf8) + [UInt8](repeating: 0xFF, count: 200)
        case "pixel": bytes[CacheFile.pageBytes + 100] ^= 1      // caught by its block's checksum
        case "pixel, and a file changed":                        // caught while the kept images are copied
            bytes[CacheFile.pageBytes + 100] ^= 1
            try Self.touch(folder + "/img-01.png", seconds: 30)
        case "padding": bytes[CacheFile.pageBytes - 1] = 1
        default: bytes[bytes.count - 30] ^= 0x40                 // a path in the index: caught by the header's checksum
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let d = try Self.load(folder, cache: cache)
        let report = try #require(d.cacheReport)
        let refused = try #require(report.refused)
        #expect(refused.hasPrefix(path + ": ") && !refused.contains("\n"), "\(refused)")
        #expect(report.lines.first == "warning: \(refused); rebuilding it")
        #expect(report.decoded == 12)
        try Self.expectFresh(d, folder)
        #expect(try Self.load(folder, cache: cache).cacheReport?.hit == true)
    }

    @Test func withoutACacheNothingIsWrittenAndAnUnwritableCacheOnlyWarns() throws {
        let folder = try Self.folder()
        let d = try Self.load(folder, cache: nil)
        #expect(d.cacheReport == nil && !d.bytes.isMapped)
        // A file where the cache folder should be: the images still load, with a warning.
        let blocked = temporaryFolder("vae-cache") + "/file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocked))
        let e = try Self.load(folder, cache: blocked)
        #expect(e.cacheReport?.writeError != nil && e.cacheReport?.lines.first?.hasPrefix("warning: image cache not written") == true)
        try Self.expectFresh(e, folder)
    }

    @Test func writesThatWereCutShortAreRemovedOnlyWhenTheirWriterEnded() throws {
        let folder = try Self.folder(count: 3), cache = temporaryFolder("vae-cache")
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let dead = cache + "/" + AtomicFile.temporaryName(for: "x.vaecache", pid: ended.processIdentifier)
        let live = cache + "/" + AtomicFile.temporaryName(for: "y.vaecache", pid: 1)
        for p in [dead, live] { try Data("partial".utf8).write(to: URL(fileURLWithPath: p)) }
        _ = try Self.load(folder, cache: cache)
        #expect(!FileManager.default.fileExists(atPath: dead) && FileManager.default.fileExists(atPath: live))
    }

    /// A cache kept inside the data folder changes with every write: it must not make every run a miss.
    @Test func aCacheInsideTheDataFolderStillHits() throws {
        let folder = try Self.folder(count: 4)
        let first = try Self.load(folder, cache: folder + "/cache")
        #expect(first.cacheReport?.decoded == 4)
        let second = try Self.load(folder, cache: folder + "/cache")
        #expect(second.cacheReport?.hit == true && second.count == 4)
        try Self.expectFresh(second, folder)
    }

    @Test func relativeNamesDoNotDependOnHowTheFolderWasTyped() {
        #expect(DatasetCache.relativeNames(["data/a.png", "data/sub/b.png", "other.png"], folders: ["data/", "other.png"])
                == ["0:a.png", "0:sub/b.png", "1:"])
        #expect(DatasetCache.relativeNames(["/abs/data/a.png"], folders: ["/abs/data"]) == ["0:a.png"])
    }

    /// The format as its header comment describes it, written independently by the fuzzers' seed
    /// maker (Tests/Fuzz/make_corpus.py, cache_file): read, and written again byte for byte.
    @Test func theFormatMatchesAnIndependentWriter() throws {
        let url = try #require(Bundle.module.url(forResource: "cache-python", withExtension: "vaecache", subdirectory: "Fixtures"))
        let bytes = [UInt8](try Data(contentsOf: url))
        let file = try bytes.withUnsafeBytes { try CacheFile.parse($0, path: url.path) }
        #expect(file.key == "SwiftVAE image cache, preparation 1\nfolder /data\nsize 2 channels 3")
        #expect(file.recordBytes == 12 && file.imageCount == 3 && file.imagesOffset == 4096)
        #expect(file.entries.map(\.name) == ["0:a.png", "0:b.txt", "0:broken.png", "0:sub/c.png", "0:sub/d.png"])
        #expect(file.entries.map(\.slot) == [0, -1, -2, 1, 2] && file.entries[2].reason == "truncated PNG")
        #expect(file.entries[0].size == 70 && file.entries[0].mtime == 1_700_000_000_123_456_789)
        let images = (0..<3).flatMap { i in (0..<12).map { UInt8((i * 7 + $0) % 256) } }
        #expect(Array(bytes[4096..<(4096 + 36)]) == images)
        let again = images.withUnsafeBytes { CacheFile.encoded(key: file.key, recordBytes: 12, images: $0, entries: file.entries) }
        #expect(again == bytes)
    }
}
