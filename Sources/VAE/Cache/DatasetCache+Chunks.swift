// DatasetCache+Chunks: builds a cache file a chunk of files at a time, for images larger than memory.
import Foundation
import ImageIO

extension DatasetCache {
    /// Files prepared at once: about 64 MB of images, however many files that is.
    static func chunkFiles(recordBytes: Int) -> Int { Swift.max(1, (64 << 20) / Swift.max(1, recordBytes)) }

    /// Writes the cache file for `files` (`considered` are those that can be images; `matched[j]`
    /// is file j's entry in `old`, unchanged since it was written) a chunk at a time: each
    /// chunk's images copied from the old file (its blocks checked first; a damaged block's
    /// images are decoded instead) or decoded, then appended to the new file, so memory holds a
    /// chunk, never the whole. The images are then the new file's pages mapped in.
    func loadInChunks(_ files: [String], names: [String], stats: [(size: UInt64, mtime: Int64)?], considered: [Int],
                      matched: [Int?], old: Opened?, decoder: ImageDataset.Decoder, key: String, path: String,
                      report: Report) throws -> ImageDataset.Loaded {
        let per = decoder.per
        var report = report
        var paths: [String] = [], skipped: [SkippedFile] = [], notes: [String] = []
        // Whether each block of the old file passed its check (nil: not looked at yet).
        var blockOK = [Bool?](repeating: nil, count: old?.file.blockCount ?? 0)
        let toDecodeCount = considered.count { matched[$0] == nil }
        var decodedSoFar = 0
        let checksum: UInt64
        do {
            try Folders.create(folder)
            Self.removeStaleTemporaries(in: folder)
            checksum = try CacheFile.write(to: path, key: key, recordBytes: per) { writer in
                var entries: [CacheFile.Entry] = []
                entries.reserveCapacity(considered.count)
                var slot: Int64 = 0    // images are written in file order: the kept ones count up
                let size = chunkFiles ?? Self.chunkFiles(recordBytes: per)
                for start in stride(from: 0, to: considered.count, by: size) {
                    let chunk = Array(considered[start..<Swift.min(considered.count, start + size)])
                    var buffer = [UInt8](repeating: 0, count: chunk.count * per)
                    var outcomes = [ImageDataset.Outcome](repeating: .notImage, count: chunk.count)
                    var toDecode: [Int] = []
                    var used: Range<Int>?    // the old records read, dropped after the chunk
                    for (k, j) in chunk.enumerated() {
                        guard let i = matched[j], let old else {
                            toDecode.append(k)
                            continue
                        }
                        let e = old.file.entries[i]
                        if e.slot == CacheFile.Entry.skipped { outcomes[k] = .failed(e.reason) }
                        guard e.slot >= 0 else { continue }
                        let r = Int(e.slot), b = r / old.file.blockImages
                        if blockOK[b] == nil {
                            do {
                                try old.file.checkBlock(b, in: old.raw, path: old.path)
                                blockOK[b] = true
                            } catch {
                                blockOK[b] = false
                                if report.refused == nil { report.refused = "\(error)" }
                            }
                        }
                        guard blockOK[b] == true else {
                            toDecode.append(k)
                            continue
                        }
                        _ = buffer.withUnsafeMutableBytes { out in
                            old.images.withUnsafeBufferPointer { memcpy(out.baseAddress! + k * per, $0.baseAddress! + r * per, per) }
                        }
                        outcomes[k] = .image
                        used = Swift.min(used?.lowerBound ?? r, r)..<Swift.max(used?.upperBound ?? r + 1, r + 1)
                    }
                    if let used { old?.images.release((used.lowerBound * per)..<(used.upperBound * per)) }
                    // Decoded into their places in the chunk; progress counts over the whole load.
                    var chunkDecoder = decoder
                    let before = decodedSoFar
                    chunkDecoder.progress = decoder.progress.map { progress in { done, _ in progress(before + done, toDecodeCount) } }
                    let large = buffer.withUnsafeMutableBufferPointer { out in
                        let (decoded, large) = chunkDecoder.decode(toDecode.map { files[chunk[$0]] }, slots: toDecode, into: out.baseAddress)
                        for (n, k) in toDecode.enumerated() { outcomes[k] = decoded[n] }
                        return large
                    }
                    decodedSoFar += toDecode.count
                    report.decoded += toDecode.count { outcomes[$0] == .image }
                    notes += large.compactMap { $0 }
                    let kept = ImageDataset.Decoder.compact(&buffer, per: per, files: chunk.map { files[$0] },
                                                            slots: Array(chunk.indices), outcomes: outcomes)
                    try buffer.withUnsafeBytes { try writer.append($0) }
                    paths += kept.paths
                    skipped += kept.skipped
                    for (k, j) in chunk.enumerated() {
                        entries.append(Self.entry(name: names[j], stat: stats[j], outcome: outcomes[k], slot: &slot))
                    }
                }
                return entries
            }
        } catch {
            // Without the file there is nowhere to stream from, and memory cannot hold the images.
            throw CacheFileError(path: path, reason: "cannot write the image cache (\(error)), and the images are to be read from it")
        }
        guard let written = try Opened.open(path, key: key, recordBytes: per), written.file.checksum == checksum else {
            throw CacheFileError(path: path, reason: "the image cache was replaced while it was written (another run on the same "
                                 + "folder?); run again")
        }
        report.images = paths.count
        report.reused = report.images - report.decoded
        report.mapped = true
        return ImageDataset.Loaded(paths: paths, bytes: written.images, skipped: skipped, notes: notes, report: report)
    }
}
