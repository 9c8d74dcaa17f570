// PixelLimit: the --max-megapixels flag's range check and its conversion to a pixel count.
import ArgumentParser
import Foundation

enum PixelLimit {
    /// The largest --max-megapixels accepted. A gigapixel already needs tens of GB on the way
    /// from file to training image; above it the pixel count is no limit at all.
    static let maximumMegapixels = 1000.0

    /// Refuses ≤ 0, NaN, infinite and enormous values: -1 used to remove the limit, and values
    /// whose pixel count overflows an Int to trap.
    static func validate(_ megapixels: Double) throws {
        guard megapixels.isFinite, megapixels > 0, megapixels <= maximumMegapixels else {
            throw ValidationError("--max-megapixels must be above 0 and at most \(Int(maximumMegapixels)), e.g. 100 (got \(String(format: "%g", megapixels)))")
        }
    }

    /// The limit in pixels, at least one.
    static func pixels(_ megapixels: Double) -> Int {
        Swift.max(1, Int((megapixels * 1_000_000).rounded(.down)))
    }
}
