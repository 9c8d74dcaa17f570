// DataShape: the side and the colour a folder's images suggest, from a sample of them, for vae train's defaults.
import Foundation
import ImageIO

public struct DataShape: Sendable, Equatable {
    /// Side of the square training images.
    public var size: Int
    /// 1 when every sampled image is gray, 3 otherwise.
    public var channels: Int
    /// Images the suggestion was read from.
    public var sampled: Int

    /// Sides above this are scaled down to it: 64×64 is what a model trains on at a useful pace here.
    public static let largestDefaultSide = 64

    public init(size: Int, channels: Int, sampled: Int) {
        (self.size, self.channels, self.sampled) = (size, channels, sampled)
    }

    /// The shape of up to `sample` images spread evenly over the folders' files (nil when none
    /// decodes: the loader then reports why). Only these images are decoded, one at a time; the
    /// side is the header's, and JPEGs are decoded scaled down (libjpeg's DCT scaling) for the
    /// colour check, so a folder of large photos is read in a moment.
    public static func probe(_ folders: [String], sample: Int = 64, options: DecodeOptions = DecodeOptions()) -> DataShape? {
        guard let files = try? FolderScan.scan(folders, sniff: false).files, !files.isEmpty else { return nil }
        let step = Swift.max(1, files.count / sample)
        var small = options
        small.minimumSide = largestDefaultSide
        var sides: [Int] = [], gray: [Bool] = []
        for i in stride(from: 0, to: files.count, by: step).prefix(sample) {
            guard let data = try? ImageDecoder.readFile(files[i], limit: options.maxFileBytes),
                  let declared = ImageHeader.declaredSize(data),
                  let image = try? ImageDecoder.decode(data, path: files[i], options: small) else { continue }
            sides.append(Swift.min(declared.width, declared.height))
            gray.append(isGray(image))
        }
        return sides.isEmpty ? nil : suggest(sides: sides, gray: gray)
    }

    /// The rule, apart from the files: the median shorter side, at most 64 and rounded down to a
    /// multiple of 4 (at least 8) so that stride-2 layers halve it evenly; gray when every image is.
    public static func suggest(sides: [Int], gray: [Bool]) -> DataShape {
        precondition(!sides.isEmpty && sides.count == gray.count)
        let median = sides.sorted()[(sides.count - 1) / 2]
        let size = Swift.max(8, Swift.min(median, largestDefaultSide) / 4 * 4)
        return DataShape(size: size, channels: gray.allSatisfy { $0 } ? 1 : 3, sampled: sides.count)
    }

    /// Gray when stored as gray, or when every pixel's colour channels agree within 2 levels (a gray
    /// picture saved as RGB or as a JPEG, whose chroma rounding leaves such small differences).
    static func isGray(_ image: DecodedImage) -> Bool {
        let c = image.channels
        guard c >= 3 else { return true }
        return image.pixels.withUnsafeBufferPointer { p in
            var i = 0
            while i + 2 < p.count {
                let r = Int(p[i]), g = Int(p[i + 1]), b = Int(p[i + 2])
                // A transparent pixel's colour is never seen.
                let seen = c < 4 || p[i + 3] > 0
                if seen && (abs(r - g) > 2 || abs(g - b) > 2) { return false }
                i += c
            }
            return true
        }
    }

    /// "28×28 gray", "64×64 colour".
    public var description: String { "\(size)×\(size) \(channels == 1 ? "gray" : "colour")" }
}
