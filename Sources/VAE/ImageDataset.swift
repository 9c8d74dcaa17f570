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
    public let bytes: [UInt8]
    public let skipped: [SkippedFile]
    /// One line each: what the folder scan left out (loops, FIFOs, unreadable folders, run
    /// folders) and the images large enough to hold most of the decoding budget.
    public let notes: [String]
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
    /// and may throw to refuse them (a memory budget).
    public init(folders: [String], preparation: ImagePreparation, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                options: DecodeOptions = DecodeOptions(), limit: Int? = nil, budget: PixelBudget? = nil,
                admit: ((Int) throws -> Void)? = nil, progress: ((Int, Int) -> Void)? = nil) throws {
        self.preparation = preparation
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
        let total = files.count
        let per = preparation.channels * preparation.size * preparation.size
        try admit?(total)
        var buffer = [UInt8](repeating: 0, count: total * per)
        var errors = [String?](repeating: nil, count: total)
        var notImages = [Bool](repeating: false, count: total)
        var large = [String?](repeating: nil, count: total)
        let lock = NSLock()
        var done = 0
        // Files are handed out in chunks so that decoding is spread over threads evenly.
        let chunks = Swift.max(1, (total + 63) / 64)
        buffer.withUnsafeMutableBufferPointer { out in
            errors.withUnsafeMutableBufferPointer { errs in
            notImages.withUnsafeMutableBufferPointer { others in
            large.withUnsafeMutableBufferPointer { large in
                let out = out, errs = errs, others = others, large = large
                Parallel.run(items: chunks, threads: threads) { chunk in
                    for i in Parallel.slice(total, part: chunk, of: chunks) {
                        do {
                            let data = try ImageDecoder.readFile(files[i], limit: options.maxFileBytes)
                            guard ImageFormat.detect(data) != nil else {
                                others[i] = true     // not an image: ignored, not reported
                                continue
                            }
                            // Reserved from the header, before the decoder allocates anything. A file
                            // whose header cannot be read reserves the whole budget, to be safe; one over
                            // the limit reserves nothing, as the decoder refuses it before allocating.
                            let size = ImageHeader.declaredSize(data)
                            let pixels = ImageHeader.declaredPixels(data) ?? budget.capacity
                            if let size, pixels > budget.capacity / 2, pixels <= options.maxPixels {
                                large[i] = "\(files[i]): \(size.width)×\(size.height) (\(Self.megapixels(pixels)) megapixels), "
                                    + "decoded within the \(Self.megapixels(budget.capacity))-megapixel budget the loading threads share"
                            }
                            let image = try budget.withReservation(pixels > options.maxPixels ? 0 : pixels) {
                                try preparation.prepare(
                                    ImageDecoder.decode(data, path: files[i], options: preparation.decodeOptions(options)))
                            }
                            // (C, H, W) from the interleaved (H, W, C).
                            let plane = preparation.size * preparation.size, c = preparation.channels
                            for p in 0..<plane {
                                for k in 0..<c {
                                    let v = image.pixels[p * c + k]
                                    out[i * per + k * plane + p] = UInt8(Swift.min(Swift.max(v, 0), 1) * 255 + 0.5)
                                }
                            }
                        } catch {
                            errs[i] = (error as? ImageIOError)?.reason ?? "\(error)"
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
            }
        }
        var kept: [String] = [], skipped: [SkippedFile] = []
        // Kept images are moved down within the one buffer (never forward, so a move never
        // overwrites an image not yet moved); a second, compacted array would hold the data twice.
        buffer.withUnsafeMutableBufferPointer { raw in
            guard let base = raw.baseAddress else { return }
            for i in 0..<total where !notImages[i] {
                if let reason = errors[i] {
                    skipped.append(SkippedFile(path: files[i], reason: reason))
                } else {
                    if kept.count != i { memmove(base + kept.count * per, base + i * per, per) }
                    kept.append(files[i])
                }
            }
        }
        buffer.removeLast(buffer.count - kept.count * per)
        guard !kept.isEmpty else {
            throw LoadError.noImages(folder: folders.joined(separator: ", "), skipped: skipped, notes: scan.notes.map(\.description))
        }
        paths = kept
        count = kept.count
        bytes = buffer
        self.skipped = skipped
        notes = scan.notes.map(\.description) + large.compactMap { $0 }
    }

    /// "100" for a whole number of megapixels, "12.3" or "0.003" otherwise.
    static func megapixels(_ pixels: Int) -> String {
        let mp = Double(pixels) / 1e6
        return pixels % 1_000_000 == 0 ? "\(pixels / 1_000_000)" : String(format: mp >= 1 ? "%.1f" : "%.3g", mp)
    }

    /// A data set from images already prepared (C, H, W bytes each).
    public init(preparation: ImagePreparation, paths: [String], bytes: [UInt8]) {
        self.preparation = preparation
        self.paths = paths
        self.count = paths.count
        self.bytes = bytes
        self.skipped = []
        self.notes = []
    }

    /// Images at `indices` as Floats in [0, 1], (B, C, H, W), written to `out`.
    public func gather(_ indices: some Collection<Int>, into out: UnsafeMutablePointer<Float>) {
        let per = imageFloats
        bytes.withUnsafeBufferPointer { src in
            for (row, i) in indices.enumerated() {
                let from = src.baseAddress! + i * per, to = out + row * per
                for j in 0..<per { to[j] = Float(from[j]) * (1 / 255) }
            }
        }
    }

    /// Image `i` as an Image (for sheets).
    public func image(_ i: Int) -> Image {
        let c = preparation.channels, plane = preparation.size * preparation.size
        var pixels = [Float](repeating: 0, count: imageFloats)
        for p in 0..<plane { for k in 0..<c { pixels[p * c + k] = Float(bytes[i * imageFloats + k * plane + p]) / 255 } }
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
