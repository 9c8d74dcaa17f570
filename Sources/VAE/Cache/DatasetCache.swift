// DatasetCache: where a folder's prepared images are cached, and loading through the cache: unchanged files from it, the rest decoded.
import Foundation
import ImageIO

/// A folder of cache files (`Output/cache/` by default), one per data folder and preparation,
/// named `<folder>-<hash of the key>.vaecache`. The key names the folders (absolute), the
/// preparation (size, channels, fit, background) and the decoding limits (--max-megapixels,
/// the file size limit, --limit); each file in it is matched by its path, size and
/// modification time.
public struct DatasetCache: Sendable {
    public var folder: String
    public static let defaultFolder = "Output/cache"
    public static let fileExtension = "vaecache"
    /// Raised when decoding or preparing an image changes, so old caches miss instead of
    /// handing out images a fresh decode would no longer give.
    static let preparationVersion = 1

    /// Files prepared at a time when the images are built into the file in chunks (nil: about 64
    /// MB of images); tests set it low to cross chunk boundaries.
    public var chunkFiles: Int?

    public init(folder: String = DatasetCache.defaultFolder) { self.folder = folder }

    /// What one load did with the cache.
    public struct Report: Sendable {
        public var path: String
        /// Images in the data set, and how many came from the cache file or were decoded now.
        public var images = 0, reused = 0, decoded = 0
        /// Files the cache knew that the folder no longer holds.
        public var removed = 0
        /// Everything came from the cache file as it was: nothing decoded, nothing written.
        public var hit = false
        /// Why the old file was refused (naming it), when it was.
        public var refused: String?
        /// Why the new file could not be written, when it could not.
        public var writeError: String?
        /// Whether the images are the cache file's pages mapped in.
        public var mapped = false

        /// One line each: a refused file, a failed write, then what happened.
        public var lines: [String] {
            var out: [String] = []
            if let refused { out.append("warning: \(refused); rebuilding it") }
            if let writeError { out.append("warning: image cache not written (\(writeError)); going on without it") }
            if hit {
                out.append("image cache: \(images) images from \(path)")
            } else if writeError == nil {
                out.append("image cache: \(path) written (\(decoded) decoded, \(reused) from the cache, \(removed) removed file\(removed == 1 ? "" : "s") dropped)")
            }
            return out
        }
    }

    /// The text that says what a cache file holds; a file whose key differs is another's.
    public static func key(folders: [String], preparation p: ImagePreparation, options: DecodeOptions, limit: Int?) -> String {
        let b = p.background
        return (["SwiftVAE image cache, preparation \(preparationVersion)"]
            + folders.map { "folder " + URL(fileURLWithPath: $0).standardizedFileURL.path }
            + ["size \(p.size) channels \(p.channels) fit \(p.fit.rawValue) background \(b.name) "
               + "(\(b.red.bitPattern) \(b.green.bitPattern) \(b.blue.bitPattern))",
               "max-pixels \(options.maxPixels) max-file-bytes \(options.maxFileBytes) limit \(limit.map(String.init) ?? "none")"])
            .joined(separator: "\n")
    }

    /// `<folder>/<data folder's name>-<16 hex digits of the key's hash>.vaecache`.
    public func path(forKey key: String, folders: [String]) -> String {
        var h = CacheFile.hashSeed
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let last = URL(fileURLWithPath: folders.first ?? "").standardizedFileURL.lastPathComponent
        let name = String(last.unicodeScalars.filter { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }
            .prefix(40).map(Character.init))
        let hex = String(h, radix: 16)
        return folder + "/" + (name.isEmpty || name.hasPrefix(".") ? "images" : name) + "-"
            + String(repeating: "0", count: 16 - hex.count) + hex + "." + Self.fileExtension
    }

    /// Each file's name in the cache: "<index of its data folder>:<path inside it>", so the
    /// same folder typed another way (or from another directory) finds its entries.
    static func relativeNames(_ files: [String], folders: [String]) -> [String] {
        let roots = folders.map { $0.hasSuffix("/") && $0.count > 1 ? String($0.dropLast()) : $0 }
        let prefixes = roots.map { $0 + "/" }
        return files.map { file in
            for (i, root) in roots.enumerated() {
                if file == root { return "\(i):" }
                if file.hasPrefix(prefixes[i]) { return "\(i):" + file.dropFirst(prefixes[i].count) }
            }
            return file
        }
    }

    /// Size and modification time (ns), or nil when the file cannot be stat'ed.
    static func fileStat(_ path: String) -> (size: UInt64, mtime: Int64)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        #if os(Linux)
        let t = st.st_mtim
        #else
        let t = st.st_mtimespec
        #endif
        return (UInt64(st.st_size), Int64(t.tv_sec) &* 1_000_000_000 &+ Int64(t.tv_nsec))
    }

    /// `fileStat` of every file, on `threads` threads: a third of a cached start was these calls.
    static func fileStats(_ files: [String], threads: Int) -> [(size: UInt64, mtime: Int64)?] {
        var stats = [(size: UInt64, mtime: Int64)?](repeating: nil, count: files.count)
        let chunks = Swift.max(1, files.count / 4096)
        stats.withUnsafeMutableBufferPointer { out in
            let out = out
            Parallel.run(items: chunks, threads: threads) { chunk in
                for j in Parallel.slice(files.count, part: chunk, of: chunks) { out[j] = fileStat(files[j]) }
            }
        }
        return stats
    }

    /// A cache file mapped read-only, its header and index checked (its images block by block, as they are used).
    final class Opened {
        let file: CacheFile
        let storage: ImageBytes.Storage
        let path: String
        var images: ImageBytes { ImageBytes(storage: storage, offset: file.imagesOffset, count: file.imageCount * file.recordBytes) }
        var raw: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.mapping, count: storage.mappedLength) }

        init(file: CacheFile, storage: ImageBytes.Storage, path: String) { (self.file, self.storage, self.path) = (file, storage, path) }

        /// The file at `path`, or nil when there is none.
        static func open(_ path: String, key: String, recordBytes: Int) throws -> Opened? {
            let fail = { (reason: String) in CacheFileError(path: path, reason: reason) }
            // O_NONBLOCK: a FIFO put in the cache's place must not hang the run.
            let fd = Foundation.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            // No file, or no folder (a file in its place: the write will say so).
            if fd < 0 && (errno == ENOENT || errno == ENOTDIR) { return nil }
            guard fd >= 0 else { throw fail("cannot open the image cache (\(Errno.text()))") }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw fail("cannot read the image cache (\(Errno.text()))") }
            guard st.st_mode & S_IFMT == S_IFREG else { throw fail("not a regular file, so not an image cache") }
            let size = Int(st.st_size)
            guard size > 0 else { throw fail("empty image cache") }
            guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
                throw fail("cannot map the image cache (\(Errno.text()))")
            }
            // The storage unmaps when it goes, also when the file is refused below.
            let storage = ImageBytes.Storage(mapping: map, mappedLength: size)
            let file = try CacheFile.parse(UnsafeRawBufferPointer(start: map, count: size), path: path, checkImages: false)
            guard file.key == key, file.recordBytes == recordBytes else {
                throw fail("an image cache of other folders or settings (the file name's hash collided, or it was renamed)")
            }
            return Opened(file: file, storage: storage, path: path)
        }

        /// Checks every block of images, calling `body` with each block's records after its check.
        /// With `release`, each block's pages are then given back (the page cache keeps them), so
        /// that reading an old file while filling a new buffer never holds the images twice.
        func forEachBlock(release: Bool, _ body: (Range<Int>) -> Void = { _ in }) throws {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            for b in 0..<file.blockCount {
                try file.checkBlock(b, in: raw, path: path)
                body(file.block(b))
                guard release else { continue }
                // Whole pages inside the block only: its neighbours' edges stay (they are checked or copied next).
                let bytes = file.byteRange(ofBlock: b)
                let first = (bytes.lowerBound + page - 1) / page * page, last = bytes.upperBound / page * page
                if last > first { madvise(storage.mapping! + first, last - first, Int32(MADV_DONTNEED)) }
            }
        }
    }

    /// Loads `files` (the folder scan's, in order) through the cache: a file whose path, size
    /// and modification time the cache file lists is taken from it (its image, or its being
    /// skipped or no image), the rest decoded; then the cache file is rewritten if anything
    /// changed, and the images are its pages mapped in. Nothing about the cache stops a load:
    /// a bad file is refused and rebuilt, a failed write leaves the images in memory.
    /// With `streaming` (the images are larger than the memory budget) they are never all in
    /// memory: a hit's blocks are checked and dropped one by one, and a miss builds the new file
    /// a chunk at a time (DatasetCache+Chunks.swift).
    func load(_ files: [String], folders: [String], decoder: ImageDataset.Decoder, limit: Int?,
              streaming: Bool = false) throws -> ImageDataset.Loaded {
        let per = decoder.per
        let key = Self.key(folders: folders, preparation: decoder.preparation, options: decoder.options, limit: limit)
        let path = path(forKey: key, folders: folders)
        var report = Report(path: path)
        let names = Self.relativeNames(files, folders: folders)
        let stats = Self.fileStats(files, threads: decoder.threads)
        var old: Opened?
        do { old = try Opened.open(path, key: key, recordBytes: per) } catch { report.refused = "\(error)" }
        // Cache files in the data folder (the cache kept inside it) are no images, and change with
        // every write: left out of the matching, or no run would ever find its cache unchanged.
        let caches = files.map { $0.hasSuffix("." + Self.fileExtension) }
        let considered = files.indices.filter { !caches[$0] }
        // The old entry each file matches, if any.
        var matched = [Int?](repeating: nil, count: files.count)
        if let opened = old {
            var byName = [String: Int](minimumCapacity: opened.file.entries.count)
            for (i, e) in opened.file.entries.enumerated() { byName[e.name] = i }
            for j in considered {
                if let s = stats[j], let i = byName[names[j]], opened.file.entries[i].size == s.size && opened.file.entries[i].mtime == s.mtime {
                    matched[j] = i
                }
            }
            let current = Set(names)
            report.removed = opened.file.entries.lazy.filter { !current.contains($0.name) }.count
            let reused = matched.lazy.filter { $0 != nil }.count
            // A hit: the file lists exactly these files in this order, so its records are the images in order.
            if reused == considered.count, reused == opened.file.entries.count,
               considered.enumerated().allSatisfy({ matched[$0.element] == $0.offset }) {
                do {
                    // Read once to check; the pages stay, as the data set's one copy (streamed, they go
                    // and come back block by block as training reads them).
                    try opened.forEachBlock(release: streaming)
                    var paths: [String] = [], skipped: [SkippedFile] = []
                    paths.reserveCapacity(opened.file.imageCount)
                    for j in considered {
                        let e = opened.file.entries[matched[j]!]
                        if e.slot >= 0 { paths.append(files[j]) } else if e.slot == CacheFile.Entry.skipped {
                            skipped.append(SkippedFile(path: files[j], reason: e.reason))
                        }
                    }
                    (report.images, report.reused, report.hit, report.mapped) = (paths.count, paths.count, true, true)
                    return ImageDataset.Loaded(paths: paths, bytes: opened.images, skipped: skipped, notes: [], report: report)
                } catch {
                    (report.refused, report.removed, old) = ("\(error)", 0, nil)
                    matched = [Int?](repeating: nil, count: files.count)
                }
            }
        }
        if streaming {
            return try loadInChunks(files, names: names, stats: stats, considered: considered, matched: matched, old: old,
                                    decoder: decoder, key: key, path: path, report: report)
        }
        // A slot for every image the cache has and every file to decode, in file order.
        var slots = [Int?](repeating: nil, count: files.count)
        var outcomes = [ImageDataset.Outcome](repeating: .notImage, count: files.count)
        var toDecode: [Int] = []
        var next = 0
        // The new slot of each old record that is kept.
        var newSlot = [Int?](repeating: nil, count: old?.file.imageCount ?? 0)
        for j in considered {
            if let i = matched[j], let e = old?.file.entries[i] {
                if e.slot >= 0 {
                    (slots[j], outcomes[j], newSlot[Int(e.slot)]) = (next, .image, next)
                    next += 1
                } else if e.slot == CacheFile.Entry.skipped {
                    outcomes[j] = .failed(e.reason)
                }
            } else {
                slots[j] = next
                next += 1
                toDecode.append(j)
            }
        }
        var buffer = [UInt8](repeating: 0, count: next * per)
        if let opened = old {
            // Block by block: checked, copied, its pages given back.
            do {
                try buffer.withUnsafeMutableBufferPointer { out in
                    try opened.images.withUnsafeBufferPointer { cached in
                        try opened.forEachBlock(release: true) { records in
                            for r in records { if let to = newSlot[r] { memcpy(out.baseAddress! + to * per, cached.baseAddress! + r * per, per) } }
                        }
                    }
                }
            } catch {
                // A damaged block: every image is decoded after all.
                report.refused = "\(error)"
                report.removed = 0
                toDecode = considered
                next = 0
                for j in considered {
                    (slots[j], outcomes[j]) = (next, .notImage)
                    next += 1
                }
                buffer = [UInt8](repeating: 0, count: next * per)
            }
        }
        old = nil    // unmapped before the new file is written
        let large: [String?] = buffer.withUnsafeMutableBufferPointer { out in
            let (decoded, large) = decoder.decode(toDecode.map { files[$0] }, slots: toDecode.map { slots[$0]! }, into: out.baseAddress)
            for (k, j) in toDecode.enumerated() { outcomes[j] = decoded[k] }
            return large
        }
        var loaded = ImageDataset.Decoder.compact(&buffer, per: per, files: files, slots: slots, outcomes: outcomes)
        loaded.notes = large.compactMap { $0 }
        report.images = loaded.paths.count
        report.decoded = toDecode.count { outcomes[$0] == .image }
        report.reused = report.images - report.decoded
        // Every file gets an entry.
        var entries: [CacheFile.Entry] = []
        entries.reserveCapacity(files.count)
        var kept: Int64 = 0
        for j in considered { entries.append(Self.entry(name: names[j], stat: stats[j], outcome: outcomes[j], slot: &kept)) }
        do {
            try Folders.create(folder)
            Self.removeStaleTemporaries(in: folder)
            let checksum = try CacheFile.write(to: path, key: key, recordBytes: per) { writer in
                try loaded.bytes.withUnsafeBufferPointer { try writer.append(UnsafeRawBufferPointer($0)) }
                return entries
            }
            // Train from the file's pages rather than the buffer, which goes: the kernel can then
            // drop and reread them under pressure. Another run may have renamed its own file over
            // ours meanwhile: only ours (the same checksum over header and index, which holds the
            // images' block checksums) is used. Its images are not read again here, so that their
            // pages come in only after the buffer is gone, and memory never holds two copies.
            if let written = try? Opened.open(path, key: key, recordBytes: per), written.file.checksum == checksum {
                loaded.bytes = written.images
                report.mapped = true
            }
        } catch {
            report.writeError = "\(error)"
        }
        loaded.report = report
        return loaded
    }

    /// A file's index entry; an image takes record `slot`, which then moves on. A file that could
    /// not be stat'ed gets a size and time no file has, so that it is decoded again.
    static func entry(name: String, stat: (size: UInt64, mtime: Int64)?, outcome: ImageDataset.Outcome, slot: inout Int64) -> CacheFile.Entry {
        let s = stat ?? (UInt64.max, Int64.min)
        var e = CacheFile.Entry(name: name, size: s.size, mtime: s.mtime, slot: CacheFile.Entry.notImage)
        switch outcome {
        case .image: (e.slot, slot) = (slot, slot + 1)
        case .notImage: break
        case let .failed(reason): (e.slot, e.reason) = (CacheFile.Entry.skipped, reason)
        }
        return e
    }

    /// Deletes temporaries (".x.vaecache.tmp-<pid>") that writes cut short by a kill left in the
    /// cache folder: those of processes that have ended. Another run's write in progress stays.
    static func removeStaleTemporaries(in folder: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            guard name.contains("." + fileExtension + ".tmp-"), let pid = AtomicFile.writer(ofTemporary: name) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(folder + "/" + name) }
        }
    }
}
