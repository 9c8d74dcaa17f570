// ImageDataset: every PNG/JPEG under a folder, decoded in parallel into one contiguous byte buffer.
import Foundation
import ImageIO

/// How images become training examples.
public struct ImagePreparation: Codable, Sendable, Equatable {
    public var size: Int
    public var channels: Int
    public var fit: FitMode = .crop
    /// Transparent pixels are composited onto this colour (saved by name: "white", "#FF8000").
    public var background: Background = .white

    public init(size: Int, channels: Int, fit: FitMode = .crop, background: Background = .white) {
        (self.size, self.channels, self.fit, self.background) = (size, channels, fit, background)
    }

    /// One file as the model sees it: decoded, composited, converted, fitted to size × size.
    public func load(_ path: String, options: DecodeOptions = DecodeOptions()) throws -> Image {
        prepare(try ImageDecoder.decode(file: path, options: decodeOptions(options)))
    }

    /// `options` allowing JPEGs to decode scaled down while their shorter side stays ≥ size.
    public func decodeOptions(_ options: DecodeOptions) -> DecodeOptions {
        var o = options
        o.minimumSide = size
        return o
    }

    /// A decoded image composited, converted and fitted to size × size.
    public func prepare(_ decoded: DecodedImage) -> Image {
        decoded.toImage(channels: channels, background: background)
            .fitted(side: size, mode: fit, background: background)
    }
}

public struct SkippedFile: Sendable {
    public var path: String
    public var reason: String
}

/// Images stored as bytes (a quarter of the memory of floats), (N, C, H, W), image-major.
public final class ImageDataset: @unchecked Sendable {
    public let preparation: ImagePreparation
    public let paths: [String]
    public let count: Int
    /// A buffer of their own, or a cache file's pages mapped read-only (DatasetCache).
    public let bytes: ImageBytes
    public let skipped: [SkippedFile]
    /// One line each: what the folder scan left out (loops, FIFOs, unreadable folders, run
    /// folders) and the images large enough to hold most of the decoding budget.
    public let notes: [String]
    /// What the cache did (nil without one): hit, updated, rebuilt, refused, not written.
    public let cacheReport: DatasetCache.Report?
    public var imageFloats: Int { preparation.channels * preparation.size * preparation.size }

    public enum LoadError: Error, CustomStringConvertible {
        /// `notes`: what the folder scan left out, the first of which may be why nothing was found.
        case noImages(folder: String, skipped: [SkippedFile], notes: [String] = [])
        public var description: String {
            switch self {
            case let .noImages(folder, skipped, notes):
                if skipped.isEmpty {
                    return "\(folder): no PNG or JPEG images found" + (notes.first.map { " (\($0))" } ?? "")
                }
                return "\(folder): none of the \(skipped.count) image files could be read (first: "
                    + "\(skipped[0].path): \(skipped[0].reason))"
            }
        }
    }

    /// Loads every image under `folders` on `threads` threads, calling `progress(done, total)`
    /// now and then. Files that fail are skipped and listed in `skipped`; it throws only when
    /// no image at all loads. The threads decode together at most `budget` pixels (by default
    /// `options.maxPixels`: the per-image limit is also the limit for all of them at once).
    /// `admit(count)` is called with the number of files found before their memory is allocated,
    /// and may throw to refuse them (a memory budget), or return true when they are to be streamed
    /// (larger than the budget: only with a `cache`, whose file then holds them, never memory).
    /// With a `cache`, images whose file is unchanged since the cache was written come from it,
    /// and the cache is brought up to date.
    public convenience init(folders: [String], preparation: ImagePreparation, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                            options: DecodeOptions = DecodeOptions(), limit: Int? = nil, budget: PixelBudget? = nil,
                            cache: DatasetCache? = nil,
                            admit: ((Int) throws -> Bool)? = nil, progress: ((Int, Int) -> Void)? = nil) throws {
        let budget = budget ?? PixelBudget(capacity: options.maxPixels)
        // Every file is listed here and told PNG or JPEG by its first bytes in the parallel
        // loop below, so each file is opened once and the sniffing is spread over the threads.
        let scan = try FolderScan.scan(folders, sniff: false)
        var files = scan.files
        if let limit {
            var kept: [String] = []
            for file in files where kept.count < limit {
                if ImageDecoder.sniff(file: file) != nil { kept.append(file) }
            }
            files = kept
        }
        let streaming = try admit?(files.count) == true && cache != nil
        let decoder = Decoder(preparation: preparation, threads: threads, options: options, budget: budget, progress: progress)
        let loaded = try cache.map {
            try $0.load(files, folders: folders, decoder: decoder, limit: limit, streaming: streaming)
        } ?? decoder.decodeAll(files)
        guard !loaded.paths.isEmpty else {
            throw LoadError.noImages(folder: folders.joined(separator: ", "), skipped: loaded.skipped, notes: scan.notes.map(\.description))
        }
        self.init(preparation: preparation, paths: loaded.paths, bytes: loaded.bytes, skipped: loaded.skipped,
                  notes: scan.notes.map(\.description) + loaded.notes, cacheReport: loaded.report)
        streamed = streaming && loaded.bytes.isMapped
    }

    init(preparation: ImagePreparation, paths: [String], bytes: ImageBytes, skipped: [SkippedFile], notes: [String],
         cacheReport: DatasetCache.Report?) {
        (self.preparation, self.paths, self.count, self.bytes) = (preparation, paths, paths.count, bytes)
        (self.skipped, self.notes, self.cacheReport) = (skipped, notes, cacheReport)
    }

    /// What became of one file.
    enum Outcome: Equatable {
        case image
        /// Not a PNG or JPEG by its first bytes: ignored, not reported.
        case notImage
        case failed(String)
    }

    /// The images a load kept, in file order, and what became of the rest.
    struct Loaded {
        var paths: [String]
        var bytes: ImageBytes
        var skipped: [SkippedFile]
        var notes: [String]
        var report: DatasetCache.Report?
    }

    /// Decodes files into slots of a buffer, in parallel, within the shared pixel budget.
    struct Decoder {
        var preparation: ImagePreparation
        var threads: Int
        var options: DecodeOptions
        var budget: PixelBudget
        var progress: ((Int, Int) -> Void)?
        var per: Int { preparation.channels * preparation.size * preparation.size }

        /// Every file, each into a slot of its own; the failures then dropped.
        func decodeAll(_ files: [String]) -> Loaded {
            var buffer = [UInt8](repeating: 0, count: files.count * per)
            let (outcomes, large) = buffer.withUnsafeMutableBufferPointer {
                decode(files, slots: Array(files.indices), into: $0.baseAddress)
            }
            var loaded = Self.compact(&buffer, per: per, files: files, slots: Array(files.indices), outcomes: outcomes)
            loaded.notes = large.compactMap { $0 }
            return loaded
        }

        /// Decodes `files[j]` into slot `slots[j]` of `out` (C, H, W bytes each). Returns what became
        /// of each, and a note for each image that holds over half the decoding budget.
        func decode(_ files: [String], slots: [Int], into out: UnsafeMutablePointer<UInt8>?) -> (outcomes: [Outcome], large: [String?]) {
            let total = files.count, per = per, preparation = preparation, options = options, budget = budget
            var outcomes = [Outcome](repeating: .notImage, count: total)
            var large = [String?](repeating: nil, count: total)
            guard total > 0, let out else { return (outcomes, large) }
            let lock = NSLock()
            var done = 0
            // Files are handed out in chunks so that decoding is spread over threads evenly.
            let chunks = Swift.max(1, (total + 63) / 64)
            outcomes.withUnsafeMutableBufferPointer { outcomes in
            large.withUnsafeMutableBufferPointer { large in
                let outcomes = outcomes, large = large
                Parallel.run(items: chunks, threads: threads) { chunk in
                    for i in Parallel.slice(total, part: chunk, of: chunks) {
                        do {
                            let data = try ImageDecoder.readFile(files[i], limit: options.maxFileBytes)
                            guard ImageFormat.detect(data) != nil else {
                                outcomes[i] = .notImage
                                continue
                            }
                            // Reserved from the header, before the decoder allocates anything. A file
                            // whose header cannot be read reserves the whole budget, to be safe; one over
                            // the limit reserves nothing, as the decoder refuses it before allocating.
                            let size = ImageHeader.declaredSize(data)
                            let pixels = ImageHeader.declaredPixels(data) ?? budget.capacity
                            if let size, pixels > budget.capacity / 2, pixels <= options.maxPixels {
                                large[i] = "\(files[i]): \(size.width)×\(size.height) (\(ImageDataset.megapixels(pixels)) megapixels), "
                                    + "decoded within the \(ImageDataset.megapixels(budget.capacity))-megapixel budget the loading threads share"
                            }
                            let image = try budget.withReservation(pixels > options.maxPixels ? 0 : pixels) {
                                try preparation.prepare(
                                    ImageDecoder.decode(data, path: files[i], options: preparation.decodeOptions(options)))
                            }
                            // (C, H, W) from the interleaved (H, W, C).
                            let plane = preparation.size * preparation.size, c = preparation.channels
                            let to = out + slots[i] * per
                            for p in 0..<plane {
                                for k in 0..<c {
                                    let v = image.pixels[p * c + k]
                                    to[k * plane + p] = UInt8(Swift.min(Swift.max(v, 0), 1) * 255 + 0.5)
                                }
                            }
                            outcomes[i] = .image
                        } catch {
                            outcomes[i] = .failed((error as? ImageIOError)?.reason ?? "\(error)")
                        }
                    }
                    lock.lock()
                    done += Parallel.slice(total, part: chunk, of: chunks).count
                    let now = done
                    lock.unlock()
                    progress?(now, total)
                }
            }
            }
            return (outcomes, large)
        }

        /// Moves the kept images down within the one buffer, in file order (never forward, so a
        /// move never overwrites an image not yet moved; a second, compacted array would hold the
        /// data twice), and lists the failures. `slots[j]` is file j's slot (nil: it has none,
        /// as files the cache knows are not images); slots rise with j.
        static func compact(_ buffer: inout [UInt8], per: Int, files: [String], slots: [Int?], outcomes: [Outcome]) -> Loaded {
            var kept: [String] = [], skipped: [SkippedFile] = []
            buffer.withUnsafeMutableBufferPointer { raw in
                let base = raw.baseAddress
                for j in files.indices {
                    switch outcomes[j] {
                    case .notImage: break
                    case let .failed(reason): skipped.append(SkippedFile(path: files[j], reason: reason))
                    case .image:
                        let slot = slots[j]!
                        if kept.count != slot, let base { memmove(base + kept.count * per, base + slot * per, per) }
                        kept.append(files[j])
                    }
                }
            }
            buffer.removeLast(buffer.count - kept.count * per)
            return Loaded(paths: kept, bytes: ImageBytes(buffer), skipped: skipped, notes: [], report: nil)
        }
    }

    /// "100" for a whole number of megapixels, "12.3" or "0.003" otherwise.
    static func megapixels(_ pixels: Int) -> String {
        let mp = Double(pixels) / 1e6
        return pixels % 1_000_000 == 0 ? "\(pixels / 1_000_000)" : String(format: mp >= 1 ? "%.1f" : "%.3g", mp)
    }

    /// A data set from images already prepared (C, H, W bytes each).
    public convenience init(preparation: ImagePreparation, paths: [String], bytes: [UInt8]) {
        self.init(preparation: preparation, paths: paths, bytes: ImageBytes(bytes), skipped: [], notes: [], cacheReport: nil)
    }

    /// Images at `indices` as Floats in [0, 1], (B, C, H, W), written to `out`.
    public func gather(_ indices: some Collection<Int>, into out: UnsafeMutablePointer<Float>) {
        let per = imageFloats
        bytes.withUnsafeBufferPointer { src in
            visit(indices) { row, i in
                let from = src.baseAddress! + i * per, to = out + row * per
                for j in 0..<per { to[j] = Float(from[j]) * (1 / 255) }
            }
        }
    }

    /// Calls `body(row, index)` for each of `indices` in turn. A streamed data set drops the pages
    /// read every 64 images while the indices ascend: the passes that go through the images in
    /// order (the held-out copy, the prior's codes, evaluation) then never hold them all. (A fault
    /// maps in the 16 pages around it too: 8,000 images spread over a 2 GB file would otherwise
    /// leave half of it resident, measured.) Training's order drops its own, a window at a time.
    func visit(_ indices: some Collection<Int>, _ body: (Int, Int) -> Void) {
        var ascending = streamed, first: Int?, previous = -1
        for (row, i) in indices.enumerated() {
            body(row, i)
            guard ascending else { continue }
            guard i > previous else {
                ascending = false
                continue
            }
            previous = i
            if first == nil { first = i }
            if row % 64 == 63, let start = first {
                bytes.release((start * imageFloats)..<((i + 1) * imageFloats))
                first = nil
            }
        }
        if ascending, let start = first { bytes.release((start * imageFloats)..<((previous + 1) * imageFloats)) }
    }

    /// Whether the images are streamed from a cache file larger than the memory budget: read
    /// in blocks and dropped after use rather than held.
    public internal(set) var streamed = false

    /// Image `i` as an Image (for sheets).
    public func image(_ i: Int) -> Image {
        let c = preparation.channels, plane = preparation.size * preparation.size
        var pixels = [Float](repeating: 0, count: imageFloats)
        bytes.withUnsafeBufferPointer { bytes in
            for p in 0..<plane { for k in 0..<c { pixels[p * c + k] = Float(bytes[i * imageFloats + k * plane + p]) / 255 } }
        }
        return Image(width: preparation.size, height: preparation.size, channels: c, pixels: pixels)
    }

    /// The notes, then a summary of skipped files: the count and the first few names with reasons.
    public func skippedSummary(first: Int = 5) -> String? {
        guard !skipped.isEmpty else { return notes.isEmpty ? nil : notes.joined(separator: "\n") }
        var lines = notes + ["skipped \(skipped.count) file\(skipped.count == 1 ? "" : "s") that could not be read:"]
        for s in skipped.prefix(first) { lines.append("  \(s.path): \(s.reason)") }
        if skipped.count > first { lines.append("  … and \(skipped.count - first) more (vae inspect lists them all)") }
        return lines.joined(separator: "\n")
    }
}

extension Image {
    /// (C, H, W) planar floats, as the model takes them.
    public var planar: [Float] {
        let plane = width * height
        var out = [Float](repeating: 0, count: pixels.count)
        for p in 0..<plane { for k in 0..<channels { out[k * plane + p] = pixels[p * channels + k] } }
        return out
    }

    /// An image from (C, H, W) planar floats.
    public init(planar: UnsafePointer<Float>, side: Int, channels: Int) {
        let plane = side * side
        var pixels = [Float](repeating: 0, count: plane * channels)
        for p in 0..<plane { for k in 0..<channels { pixels[p * channels + k] = planar[k * plane + p] } }
        self.init(width: side, height: side, channels: channels, pixels: pixels)
    }
}
