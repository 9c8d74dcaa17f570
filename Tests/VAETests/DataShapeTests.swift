// DataShape: the side and colour vae train's defaults read from a sample of the images.
import Foundation
import Testing
import TestSupport
@testable import ImageIO
@testable import VAE

@Suite struct DataShapeTests {
    @Test func sideIsTheMedianShorterSideCappedAndEven() {
        #expect(DataShape.suggest(sides: [28, 28, 28], gray: [true, true, true]) == DataShape(size: 28, channels: 1, sampled: 3))
        // Capped at 64, rounded down to a multiple of 4, never below 8.
        #expect(DataShape.suggest(sides: [512, 300, 1000], gray: [false, true, true]).size == 64)
        #expect(DataShape.suggest(sides: [30, 40, 31], gray: [true, true, true]).size == 28)
        #expect(DataShape.suggest(sides: [3, 5, 2], gray: [true, true, true]).size == 8)
        // One colour image among gray ones makes the set colour.
        #expect(DataShape.suggest(sides: [28, 28], gray: [true, false]).channels == 3)
    }

    @Test func grayIsToldByContentNotByTheFileType() {
        func decoded(_ channels: Int, _ pixels: [UInt8]) -> DecodedImage {
            DecodedImage(width: pixels.count / channels, height: 1, channels: channels, pixels: pixels,
                         info: .init(format: .png, channels: channels, bitDepth: 8))
        }
        #expect(DataShape.isGray(decoded(1, [0, 90, 255])))
        #expect(DataShape.isGray(decoded(2, [0, 255, 90, 0])))
        #expect(DataShape.isGray(decoded(3, [10, 11, 12, 200, 200, 200])))      // JPEG-like rounding
        #expect(!DataShape.isGray(decoded(3, [10, 11, 12, 200, 100, 200])))
        // A transparent pixel's colour does not count; a visible one does.
        #expect(DataShape.isGray(decoded(4, [255, 0, 0, 0, 7, 7, 7, 255])))
        #expect(!DataShape.isGray(decoded(4, [255, 0, 0, 1, 7, 7, 7, 255])))
    }

    @Test func probeSamplesTheFolderAndSkipsWhatDoesNotDecode() throws {
        let folder = temporaryFolder("vae-datashape")
        for i in 0..<10 {
            var image = Image(width: 36, height: 40, channels: 3, fill: Float(i) / 10)
            if i == 7 { image[3, 3, 0] = 1; image[3, 3, 1] = 0 }     // one colour image
            try image.writePNG(to: folder + "/\(i).png")
        }
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: folder + "/notes.txt"))
        let shape = try #require(DataShape.probe([folder]))
        #expect(shape == DataShape(size: 36, channels: 3, sampled: 10))
        // Sampling every second file leaves the colour image out.
        #expect(DataShape.probe([folder], sample: 5)?.channels == 1)
        #expect(DataShape.probe([temporaryFolder("vae-datashape-empty")]) == nil)
    }
}
