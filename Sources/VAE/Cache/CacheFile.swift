// CacheFile: the image cache's format: a header, the prepared images as fixed-size records, an index of the files.
//
// Layout, little-endian; every count and offset is checked against the file's size before use:
//     0   8  magic "VAECACHE"
//     8   4  version (1)
//    12   4  header bytes (128)
//    16   8  key bytes K: the text saying which folders and which preparation (DatasetCache.key)
//    24   8  image count N
//    32   8  record bytes R = channels × size × size: one image as ImageDataset holds it, (C, H, W) UInt8
//    40   8  images offset: a multiple of 4096, so records start page-aligned for mmap
//    48   8  images per block B: the block checksums cover B records each (the last may hold fewer)
//    56   8  file count F: every file the folder scan listed (images, skipped files, other files)
//    64   8  index offset: images offset + N × R, rounded up to 8
//    72   8  string bytes S
//    80   8  file bytes: index offset + 40 F + 8 ⌈N / B⌉ + S
//    88   8  checksum of bytes 0..<88, the key and everything from the index offset on
//    96  32  zero
//   128   K  the key, then zeros up to the images offset
//            N records of R bytes, image i at images offset + i R, in file order; zeros up to the index offset
//            F entries of 40 bytes, in file order: size u64, mtime in ns i64, slot i64 (the image's record;
//            -1 not an image; -2 skipped), path offset u64 and path length u32 into the strings, reason
//            length u32 (a skipped file's reason follows its path)
//            ⌈N / B⌉ block checksums u64, then S bytes of strings (UTF-8)
// Images are contiguous fixed-size records so that a streaming reader can take the header and the
// index, then read any block of B images with one read of B R bytes at images offset + b B R and
// check it against its block checksum, without reading the rest.
import Foundation
import ImageIO

/// A cache file refused: names it and says why, in one line.
public struct CacheFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

public struct CacheFile: Sendable, Equatable {
    /// One file of the folder, as it was when its image was prepared.
    public struct Entry: Sendable, Equatable {
        /// The path inside its data folder ("<folder index>:<path>"), as DatasetCache.relativeNames makes it.
        public var name: String
        public var size: UInt64
        public var mtime: Int64
        /// The image's record, or `notImage`, or `skipped` (with `reason`).
        public var slot: Int64
        public var reason: String = ""
        public static let notImage: Int64 = -1, skipped: Int64 = -2
    }

    public var key: String
    public var recordBytes: Int
    public var imageCount: Int
    public var imagesOffset: Int
    public var blockImages: Int
    public var entries: [Entry]
    /// The stored checksum of header, key and index: equal checksums, equal files.
    public var checksum: UInt64

    static let magic = Array("VAECACHE".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 128
    static let entryBytes = 40
    static let pageBytes = 4096
    /// About 1 MiB of images per block: a streaming reader's unit of reading and checking.
    static func blockImages(recordBytes: Int) -> Int { Swift.max(1, (1 << 20) / Swift.max(1, recordBytes)) }

    /// A 64-bit hash over 8-byte words (FNV-1a's step per word, then per trailing byte): a few
    /// milliseconds for 50 MB, and any change to one word changes it (each step is a bijection).
    static func hash(_ raw: UnsafeRawBufferPointer, into h: inout UInt64) {
        let words = raw.count / 8
        var x = h
        for w in 0..<words { x = (x ^ raw.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self).littleEndian) &* 0x100_0000_01b3 }
        for b in (words * 8)..<raw.count { x = (x ^ UInt64(raw[b])) &* 0x100_0000_01b3 }
        h = x
    }
    static let hashSeed: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Reads and checks a whole cache file held in `raw` (mapped): header, index and, unless
    /// `checkImages` is false, every block of images against its checksum.
    public static func parse(_ raw: UnsafeRawBufferPointer, path: String, checkImages: Bool = true) throws -> CacheFile {
        func fail(_ reason: String) -> CacheFileError { CacheFileError(path: path, reason: reason) }
        let size = raw.count
        guard size > 0 else { throw fail("empty image cache") }
        guard size >= magic.count, magic.indices.allSatisfy({ raw[$0] == magic[$0] }) else {
            throw fail("not a vae image cache (it does not start with \"VAECACHE\")")
        }
        guard size >= headerBytes else { throw fail("truncated image cache (\(size) bytes, shorter than its \(headerBytes)-byte header)") }
        func u64(_ at: Int) -> UInt64 { raw.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian }
        func u32(_ at: Int) -> UInt32 { raw.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian }
        guard u32(8) == version else { throw fail("image cache version \(u32(8)); this vae reads version \(version)") }
        guard u32(12) == UInt32(headerBytes) else { throw fail("header of \(u32(12)) bytes; version \(version) has \(headerBytes)") }
        guard u64(80) == UInt64(size) else {
            throw fail("truncated or damaged image cache (\(size) bytes; its header says \(u64(80)))")
        }
        // Each field is at most the file's size, so the sums and products below fit in an Int
        // unless they overflow, which is checked.
        func field(_ at: Int, _ name: String) throws -> Int {
            let v = u64(at)
            guard v <= UInt64(size) else { throw fail("damaged image cache: \(name) \(v) is beyond its \(size) bytes") }
            return Int(v)
        }
        let keyBytes = try field(16, "key length"), count = try field(24, "image count"), record = try field(32, "record size")
        let imagesOffset = try field(40, "images offset")
        // A count of images, not bytes: any value from 1 to 2³² is sound.
        guard (1...(UInt64(1) << 32)).contains(u64(48)) else { throw fail("damaged image cache: block size \(u64(48))") }
        let blockImages = Int(u64(48))
        let fileCount = try field(56, "file count"), indexOffset = try field(64, "index offset"), stringBytes = try field(72, "string length")
        guard record > 0 else { throw fail("damaged image cache: record size 0") }
        guard imagesOffset % pageBytes == 0, imagesOffset >= headerBytes + keyBytes else {
            throw fail("damaged image cache: images at byte \(imagesOffset)")
        }
        let blocks = count == 0 ? 0 : (count - 1) / blockImages + 1
        func sum(_ terms: [(Int, Int)]) -> Int? {    // Σ a·b, nil on overflow
            var total = 0
            for (a, b) in terms {
                let (p, o1) = a.multipliedReportingOverflow(by: b)
                let (s, o2) = total.addingReportingOverflow(p)
                if o1 || o2 { return nil }
                total = s
            }
            return total
        }
        guard let imagesEnd = sum([(imagesOffset, 1), (count, record)]), (imagesEnd + 7) / 8 * 8 == indexOffset,
              sum([(indexOffset, 1), (fileCount, entryBytes), (blocks, 8), (stringBytes, 1)]) == size else {
            throw fail("damaged image cache: its sections do not add up to its \(size) bytes")
        }
        // The padding holds nothing: zeros, so that no byte of the file goes unchecked.
        for range in [(headerBytes + keyBytes)..<imagesOffset, imagesEnd..<indexOffset, 96..<headerBytes] where raw[range].contains(where: { $0 != 0 }) {
            throw fail("damaged image cache: bytes \(range.lowerBound)–\(range.upperBound - 1) should be zero")
        }
        let blocksOffset = indexOffset + fileCount * entryBytes, stringsOffset = blocksOffset + blocks * 8
        var entries: [Entry] = []
        entries.reserveCapacity(fileCount)
        var nextSlot: Int64 = 0
        for f in 0..<fileCount {
            let at = indexOffset + f * entryBytes
            let slot = Int64(bitPattern: u64(at + 16))
            let pathAt = u64(at + 24), pathLength = UInt64(u32(at + 32)), reasonLength = UInt64(u32(at + 36))
            guard pathAt <= UInt64(stringBytes), pathLength + reasonLength <= UInt64(stringBytes) - pathAt else {
                throw fail("damaged image cache: entry \(f)'s name is beyond its strings")
            }
            if slot >= 0 {
                // Records are in file order: the kept images' slots count up from 0.
                guard slot == nextSlot else { throw fail("damaged image cache: entry \(f) points at image \(slot), expected \(nextSlot)") }
                nextSlot += 1
            } else if slot != Entry.notImage && slot != Entry.skipped {
                throw fail("damaged image cache: entry \(f) has slot \(slot)")
            }
            let p = stringsOffset + Int(pathAt)
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[p..<(p + Int(pathLength))]), as: UTF8.self)
            let q = p + Int(pathLength)
            let reason = String(decoding: UnsafeRawBufferPointer(rebasing: raw[q..<(q + Int(reasonLength))]), as: UTF8.self)
            entries.append(Entry(name: name, size: u64(at), mtime: Int64(bitPattern: u64(at + 8)), slot: slot, reason: reason))
        }
        guard nextSlot == Int64(count) else { throw fail("damaged image cache: \(nextSlot) entries for \(count) images") }
        let stored = u64(88)
        guard metaChecksum(raw, keyBytes: keyBytes, indexOffset: indexOffset) == stored else {
            throw fail("damaged image cache: the checksum of its header and index does not match")
        }
        let key = String(decoding: UnsafeRawBufferPointer(rebasing: raw[headerBytes..<(headerBytes + keyBytes)]), as: UTF8.self)
        let file = CacheFile(key: key, recordBytes: record, imageCount: count, imagesOffset: imagesOffset, blockImages: blockImages,
                             entries: entries, checksum: stored, blocksOffset: blocksOffset)
        for b in 0..<(checkImages ? blocks : 0) { try file.checkBlock(b, in: raw, path: path) }
        return file
    }

    /// Where the block checksums are in the file.
    var blocksOffset = 0
    public var blockCount: Int { imageCount == 0 ? 0 : (imageCount - 1) / blockImages + 1 }
    /// The images (records) block `b` holds.
    public func block(_ b: Int) -> Range<Int> { (b * blockImages)..<Swift.min(imageCount, (b + 1) * blockImages) }
    /// Block `b`'s bytes in the file.
    public func byteRange(ofBlock b: Int) -> Range<Int> {
        let images = block(b)
        return (imagesOffset + images.lowerBound * recordBytes)..<(imagesOffset + images.upperBound * recordBytes)
    }

    /// Checks block `b` of the file `raw` (the one this was parsed from) against its checksum.
    public func checkBlock(_ b: Int, in raw: UnsafeRawBufferPointer, path: String) throws {
        var h = Self.hashSeed
        Self.hash(UnsafeRawBufferPointer(rebasing: raw[byteRange(ofBlock: b)]), into: &h)
        guard h == raw.loadUnaligned(fromByteOffset: blocksOffset + b * 8, as: UInt64.self).littleEndian else {
            let images = block(b)
            throw CacheFileError(path: path, reason: "damaged image cache: images \(images.lowerBound)–\(images.upperBound - 1) fail their checksum")
        }
    }

    /// The checksum over bytes 0..<88, the key and the index (everything from `indexOffset` on).
    static func metaChecksum(_ raw: UnsafeRawBufferPointer, keyBytes: Int, indexOffset: Int) -> UInt64 {
        var h = hashSeed
        hash(UnsafeRawBufferPointer(rebasing: raw[0..<88]), into: &h)
        hash(UnsafeRawBufferPointer(rebasing: raw[headerBytes..<(headerBytes + keyBytes)]), into: &h)
        hash(UnsafeRawBufferPointer(rebasing: raw[indexOffset...]), into: &h)
        return h
    }

    /// Each block's checksum, for records of `recordBytes` in `images`.
    static func blockHashes(_ images: UnsafeRawBufferPointer, recordBytes: Int) -> [UInt64] {
        let count = images.count / recordBytes, blockImages = blockImages(recordBytes: recordBytes)
        return stride(from: 0, to: count, by: blockImages).map { first in
            var h = hashSeed
            hash(UnsafeRawBufferPointer(rebasing: images[(first * recordBytes)..<(Swift.min(count, first + blockImages) * recordBytes)]), into: &h)
            return h
        }
    }

    /// The file around its images: `head` (header, key, padding up to the images) and `tail`
    /// (padding and the index), for `count` records whose blocks have checksums `blockHashes`.
    static func encode(key: String, recordBytes: Int, count: Int, blockHashes: [UInt64], entries: [Entry]) -> (head: [UInt8], tail: [UInt8]) {
        let blockImages = blockImages(recordBytes: recordBytes)
        precondition(recordBytes > 0 && entries.count { $0.slot >= 0 } == count && blockHashes.count == (count + blockImages - 1) / blockImages)
        let keyUTF8 = Array(key.utf8)
        let imagesOffset = imagesOffset(keyBytes: keyUTF8.count)
        let imagesEnd = imagesOffset + count * recordBytes, indexOffset = (imagesEnd + 7) / 8 * 8
        var strings: [UInt8] = [], index: [UInt8] = []
        index.reserveCapacity(entries.count * entryBytes + blockHashes.count * 8)
        func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        for e in entries {
            let name = Array(e.name.utf8), reason = Array(e.reason.utf8)
            put(e.size, &index); put(e.mtime, &index); put(e.slot, &index)
            put(UInt64(strings.count), &index); put(UInt32(name.count), &index); put(UInt32(reason.count), &index)
            strings += name + reason
        }
        for h in blockHashes { put(h, &index) }
        index += strings
        var head: [UInt8] = magic
        put(version, &head); put(UInt32(headerBytes), &head)
        for v in [keyUTF8.count, count, recordBytes, imagesOffset, blockImages, entries.count, indexOffset, strings.count,
                  indexOffset + index.count] { put(UInt64(v), &head) }
        head += [UInt8](repeating: 0, count: headerBytes - head.count) + keyUTF8
        head += [UInt8](repeating: 0, count: imagesOffset - head.count)
        let tail = [UInt8](repeating: 0, count: indexOffset - imagesEnd) + index
        // The checksum covers what a reader sees at those places: header (checksum field still
        // zero when it is computed over bytes 0..<88), key and index.
        var h = hashSeed
        head.withUnsafeBytes { raw in
            hash(UnsafeRawBufferPointer(rebasing: raw[0..<88]), into: &h)
            hash(UnsafeRawBufferPointer(rebasing: raw[headerBytes..<(headerBytes + keyUTF8.count)]), into: &h)
        }
        index.withUnsafeBytes { hash($0, into: &h) }
        withUnsafeBytes(of: h.littleEndian) { head.replaceSubrange(88..<96, with: $0) }
        return (head, tail)
    }

    /// Where the images start: after the header and the key, on a page boundary.
    static func imagesOffset(keyBytes: Int) -> Int { (headerBytes + keyBytes + pageBytes - 1) / pageBytes * pageBytes }

    /// The whole file in memory (for tests and the fuzzer; `write` streams the images instead).
    public static func encoded(key: String, recordBytes: Int, images: UnsafeRawBufferPointer, entries: [Entry]) -> [UInt8] {
        let (head, tail) = encode(key: key, recordBytes: recordBytes, count: images.count / recordBytes,
                                  blockHashes: blockHashes(images, recordBytes: recordBytes), entries: entries)
        return head + Array(images) + tail
    }

    /// Writes the file through a temporary in the same folder, fsync and rename (AtomicFile), so
    /// two runs writing one cache leave one whole file or the other. `body` hands the images to
    /// the writer, in as many pieces as it likes (so they need not all be in memory), and returns
    /// the index entries; the header, which counts them, is written last. Returns the checksum.
    @discardableResult
    static func write(to path: String, key: String, recordBytes: Int, _ body: (RecordWriter) throws -> [Entry]) throws -> UInt64 {
        var checksum: UInt64 = 0
        try AtomicFile.write(to: path) { sink in
            let keyBytes = key.utf8.count
            try sink.write([UInt8](repeating: 0, count: imagesOffset(keyBytes: keyBytes)))    // the header's place
            let writer = RecordWriter(sink: sink, recordBytes: recordBytes)
            let entries = try body(writer)
            try writer.finish()
            let (head, tail) = encode(key: key, recordBytes: recordBytes, count: writer.count, blockHashes: writer.hashes, entries: entries)
            try sink.write(tail)
            try sink.write(head, at: 0)
            checksum = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 88, as: UInt64.self).littleEndian }
        }
        return checksum
    }

    /// Takes image records in order and writes them a block at a time, keeping each block's checksum.
    final class RecordWriter {
        let sink: AtomicFile.Sink
        let recordBytes: Int
        let blockBytes: Int
        /// Records written, and the checksums of the blocks finished.
        private(set) var count = 0
        private(set) var hashes: [UInt64] = []
        /// The records of the block being filled.
        private var pending: [UInt8] = []

        init(sink: AtomicFile.Sink, recordBytes: Int) {
            (self.sink, self.recordBytes) = (sink, recordBytes)
            blockBytes = CacheFile.blockImages(recordBytes: recordBytes) * recordBytes
            pending.reserveCapacity(blockBytes)
        }

        /// Appends whole records.
        func append(_ records: UnsafeRawBufferPointer) throws {
            precondition(records.count % recordBytes == 0)
            count += records.count / recordBytes
            var at = 0
            while at < records.count {
                let n = Swift.min(blockBytes - pending.count, records.count - at)
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: records[at..<(at + n)]))
                at += n
                if pending.count == blockBytes { try flush() }
            }
        }

        /// Writes the last, short block.
        func finish() throws { if !pending.isEmpty { try flush() } }

        private func flush() throws {
            var h = CacheFile.hashSeed
            pending.withUnsafeBytes { CacheFile.hash($0, into: &h) }
            hashes.append(h)
            try sink.write(pending)
            pending.removeAll(keepingCapacity: true)
        }
    }
}
