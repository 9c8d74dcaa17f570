// PixelLimit: the --max-megapixels flag's range check and its conversion to a pixel count.
import ArgumentParser
import Foundation
import VAE

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

    /// Refuses a limit whose decoding alone (about 16 bytes a pixel at the peak: the decoded
    /// bytes and the image as floats) would not fit in the memory budget.
    static func checkMemory(_ megapixels: Double, budget: Int = MemoryPlan.defaultBudget()) throws {
        let bytes = Double(pixels(megapixels)) * 16
        guard bytes <= Double(budget) else {
            throw RunFailure(String(format: "--max-megapixels %g: decoding an image that large takes about %@, over the %@ "
                                    + "available: use a smaller limit", megapixels, MemoryPlan.describe(Int(bytes)),
                                    MemoryPlan.describe(budget)))
        }
    }

    /// The limit in pixels, at least one.
    static func pixels(_ megapixels: Double) -> Int {
        Swift.max(1, Int((megapixels * 1_000_000).rounded(.down)))
    }
}
