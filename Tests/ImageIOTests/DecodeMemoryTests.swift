// Copies the way from file to training image must not make: each is a whole image's worth of floats.
import Testing
@testable import ImageIO

@Suite struct DecodeMemoryTests {
    /// Fitting a square image by cropping used to copy it whole first: for a 100-megapixel
    /// RGB image, 1.2 GB more at the peak of loading.
    @Test func croppingASquareImageToItselfSharesItsPixels() {
        let image = Image(width: 6, height: 6, channels: 3, fill: 0.25)
        let same = image.cropped(x: 0, y: 0, width: 6, height: 6)
        let a = image.pixels.withUnsafeBufferPointer { $0.baseAddress }
        let b = same.pixels.withUnsafeBufferPointer { $0.baseAddress }
        #expect(a == b)
        #expect(image.cropped(x: 1, y: 0, width: 5, height: 6).pixels == [Float](repeating: 0.25, count: 90))
    }
}
