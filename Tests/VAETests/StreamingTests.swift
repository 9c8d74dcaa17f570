// Streaming: the cache built a chunk at a time equals the one built in memory; the quasi-random order visits each image once, a window at a time; resident memory stays bounded.
import Foundation
import Testing
import TestSupport
import ImageIO
@testable import VAE

@Suite struct StreamingTests {
    typealias Cache = DatasetCacheTests

    /// Loads through the cache as a streamed run does: built in chunks of `chunk` files, never held.
    static func streamed(_ folder: String, cache: String, chunk: Int = 5) throws -> ImageDataset {
        var c = DatasetCache(folder: cache)
        c.chunkFiles = chunk
        return try ImageDataset(folders: [folder], preparation: Cache.prep, threads: 2, cache: c, admit: { _ in true })
    }

    static func file(_ cache: String) throws -> Data {
        let files = Cache.cacheFiles(cache)
        try #require(files.count == 1)
        return try Data(contentsOf: URL(fileURLWithPath: files[0]))
    }

    @Test func theChunkedBuildWritesTheSameFileAsTheInMemoryOneAndStreamsFromIt() throws {
        let folder = try Cache.folder(count: 13), a = temporaryFolder("vae-stream-a"), b = temporaryFolder("vae-stream-b")
        let chunked = try Self.streamed(folder, cache: a)
        let whole = try Cache.load(folder, cache: b)
        #expect(chunked.streamed && !whole.streamed && chunked.bytes.isMapped)
        #expect(try Self.file(a) == Self.file(b))
        #expect(chunked.cacheReport?.decoded == 13 && chunked.cacheReport?.reused == 0)
        try Cache.expectFresh(chunked, folder)
        // A hit streams too: checked block by block, from the mapped file.
        let hit = try Self.streamed(folder, cache: a)
        #expect(hit.cacheReport?.hit == true && hit.streamed)
        try Cache.expectFresh(hit, folder)
    }

    @Test func aChunkedUpdateDecodesOnlyTheChangedFiles() throws {
        let folder = try Cache.folder(count: 12), a = temporaryFolder("vae-stream-a"), b = temporaryFolder("vae-stream-b")
        _ = try Self.streamed(folder, cache: a)
        try Cache.image(40).writePNG(to: folder + "/sub/added.png")
        try Cache.image(5, shade: 0.5).writePNG(to: folder + "/img-05.png")
        try Cache.touch(folder + "/img-05.png", seconds: 10)
        try FileManager.default.removeItem(atPath: folder + "/img-07.png")
        let d = try Self.streamed(folder, cache: a, chunk: 4)
        let report = try #require(d.cacheReport)
        #expect(!report.hit && report.decoded == 2 && report.reused == 10 && report.removed == 1 && d.count == 12)
        try Cache.expectFresh(d, folder)
        _ = try Cache.load(folder, cache: b)
        #expect(try Self.file(a) == Self.file(b))
    }

    @Test func aDamagedBlockInAChunkedUpdateIsDecodedAgainAndNamed() throws {
        let folder = try Cache.folder(count: 12), cache = temporaryFolder("vae-stream")
        _ = try Self.streamed(folder, cache: cache)
        let path = Cache.cacheFiles(cache)[0]
        // One pixel of the first image changed in the file, and a file added so that it is no hit.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data([0x5A]))
        try handle.close()
        try Cache.image(41).writePNG(to: folder + "/added.png")
        let d = try Self.streamed(folder, cache: cache)
        let report = try #require(d.cacheReport)
        #expect(report.refused?.contains("\(path): damaged image cache: images 0–11 fail their checksum") == true, "\(report.refused ?? "")")
        #expect(report.decoded == 13)
        try Cache.expectFresh(d, folder)
    }

    @Test func theOrderVisitsEachImageOnceAWindowOfBlocksAtATime() {
        // Every third record held out, as a split leaves gaps.
        let indices = (0..<1000).filter { $0 % 3 != 1 }
        let order = QuasiRandomOrder(blockImages: 37, window: 3)
        let e = order.epoch(4, of: indices, seed: 9)
        #expect(e.order.sorted() == indices)
        var start = 0, seen = Set<Int>()
        for w in e.windows {
            #expect(w.blocks.count <= 3 && Set(w.blocks).isDisjoint(with: seen))
            seen.formUnion(w.blocks)
            #expect(e.order[start..<w.end].allSatisfy { w.blocks.contains($0 / 37) })
            start = w.end
        }
        #expect(start == indices.count && seen == Set(indices.map { $0 / 37 }))
        // Seeded: the same again, another epoch another order, and batches mix blocks.
        #expect(order.epoch(4, of: indices, seed: 9).order == e.order)
        #expect(order.epoch(5, of: indices, seed: 9).order != e.order)
        #expect(Set(e.order.prefix(32).map { $0 / 37 }).count > 1)
    }

    /// A data set of `count` images of `per` bytes, image i filled with i's low byte.
    static func dataset(count: Int, per: Int) -> ImageDataset {
        let side = Int(Double(per).squareRoot())
        precondition(side * side == per)
        var bytes = [UInt8](repeating: 0, count: count * per)
        for i in 0..<count { for j in 0..<per { bytes[i * per + j] = UInt8(truncatingIfNeeded: i) } }
        return ImageDataset(preparation: ImagePreparation(size: side, channels: 1), paths: (0..<count).map { "\($0)" }, bytes: bytes)
    }

    /// The first pixel of each image of each batch of epoch `epoch`, from batch `first` on.
    static func batches(_ b: ImageBatches, epoch: Int, from first: Int, size: Int) -> [[Float]] {
        var out: [[Float]] = [], buffer = [Float](repeating: 0, count: size * b.imageFloats)
        b.beginEpoch(epoch, batchSize: size, from: first)
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { b.nextBatch(into: $0.baseAddress!) }
            if n == 0 { return out }
            out.append((0..<n).map { buffer[$0 * b.imageFloats] })
        }
    }

    @Test func streamedBatchesCoverTheEpochOnceAndResumeMidEpochExactly() {
        let b = ImageBatches(dataset: Self.dataset(count: 200, per: 4), validationFraction: 0.1, seed: 3)
        b.streaming = QuasiRandomOrder(blockImages: 16, window: 2)
        let all = Self.batches(b, epoch: 2, from: 0, size: 7)
        #expect(all.flatMap { $0 }.sorted() == b.trainIndices.map { Float($0) * (1 / 255) }.sorted())
        #expect(Self.batches(b, epoch: 2, from: 11, size: 7) == Array(all[11...]))
        // Not the in-memory shuffle.
        let memory = ImageBatches(dataset: b.dataset, validationFraction: 0.1, seed: 3)
        #expect(Self.batches(memory, epoch: 2, from: 0, size: 7) != all)
    }

    #if os(Linux)
    /// This process's resident pages of mapped files, in bytes.
    static func residentFileBytes() -> Int { (MemoryPlan.field("RssFile:", in: "/proc/self/status") ?? 0) * 1024 }

    /// A 48 MB cache file mapped, the held-out images copied and an epoch trained from it: streamed,
    /// the resident file pages stay within a few windows; in memory they grow with the data (so
    /// the measure works).
    @Test func aStreamedEpochKeepsResidentMemoryWithinItsWindows() throws {
        let per = 4096, count = 12_000, cache = temporaryFolder("vae-stream-rss")
        let source = Self.dataset(count: count, per: per)
        let entries = (0..<count).map { CacheFile.Entry(name: "0:\($0)", size: 1, mtime: 1, slot: Int64($0)) }
        let path = cache + "/big.vaecache"
        try CacheFile.write(to: path, key: "k", recordBytes: per) { writer in
            try source.bytes.withUnsafeBufferPointer { try writer.append(UnsafeRawBufferPointer($0)) }
            return entries
        }
        let opened = try #require(try DatasetCache.Opened.open(path, key: "k", recordBytes: per))
        func epoch(streaming: QuasiRandomOrder?) -> Int {
            let mapped = ImageDataset(preparation: source.preparation, paths: source.paths, bytes: opened.images, skipped: [],
                                      notes: [], cacheReport: nil)
            mapped.streamed = streaming != nil
            mapped.bytes.release(0..<mapped.bytes.count)
            let b = ImageBatches(dataset: mapped, validationFraction: 0.05, seed: 1)
            b.streaming = streaming
            let before = Self.residentFileBytes()
            var most = 0, buffer = [Float](repeating: 0, count: 64 * per)
            // The held-out copy reads 600 images spread over the file, and drops their pages.
            let heldOut = b.validationSet
            most = Self.residentFileBytes() - before
            #expect(heldOut.count == 600)
            b.beginEpoch(0, batchSize: 64, from: 0)
            while buffer.withUnsafeMutableBufferPointer({ b.nextBatch(into: $0.baseAddress!) }) > 0 {
                most = max(most, Self.residentFileBytes() - before)
            }
            return most
        }
        let blockImages = CacheFile.blockImages(recordBytes: per)    // 256 images, 1 MiB
        let streamed = epoch(streaming: QuasiRandomOrder(blockImages: blockImages, window: 2))
        let whole = epoch(streaming: nil)
        // Two windows of two blocks resident at most (4 MiB), and some slack for the pages of the test itself.
        #expect(streamed < 8 << 20, "streamed: \(streamed) bytes resident")
        #expect(whole > 40 << 20, "in memory: \(whole) bytes resident")
    }
    #endif
}
