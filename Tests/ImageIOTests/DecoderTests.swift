// Decoding every PNG and JPEG variant in Fixtures/, and every hostile file giving its error.
import Foundation
import Testing
@testable import ImageIO

func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")!.path
}

/// The pattern make_fixtures.py draws.
func pattern(_ x: Int, _ y: Int, _ c: Int) -> Int { (x * 31 + y * 17 + c * 59) % 256 }

func decode(_ name: String) throws -> DecodedImage { try ImageDecoder.decode(file: fixture(name)) }

@Suite struct PNGDecoderTests {
    @Test(arguments: [1, 2, 4, 8, 16])
    func grayAtEveryBitDepth(_ depth: Int) throws {
        let image = try decode("gray\(depth).png")
        #expect(image.width == 13 && image.height == 9 && image.channels == 1)
        #expect(image.info.bitDepth == depth)
        for y in 0..<9 { for x in 0..<13 {
            let expected = depth >= 8 ? pattern(x, y, 0) : (pattern(x, y, 0) % (1 << depth)) * 255 / ((1 << depth) - 1)
            #expect(abs(Int(image.pixels[y * 13 + x]) - expected) <= (depth == 16 ? 1 : 0), "(\(x), \(y))")
        } }
    }

    @Test(arguments: [("gray_alpha.png", 2), ("rgb.png", 3), ("rgba.png", 4), ("rgb_interlaced.png", 3), ("rgb16.png", 3)])
    func colourTypesKeepTheirChannels(_ c: (String, Int)) throws {
        let image = try decode(c.0)
        #expect(image.channels == c.1)
        let tolerance = c.0.contains("16") ? 1 : 0
        for y in 0..<9 { for x in 0..<13 { for k in 0..<c.1 {
            #expect(abs(Int(image.pixels[(y * 13 + x) * c.1 + k]) - pattern(x, y, k)) <= tolerance)
        } } }
    }

    @Test func interlacedLowBitDepth() throws {
        let image = try decode("gray2_interlaced.png")
        #expect(image.info.details.contains("interlaced"))
        for y in 0..<9 { for x in 0..<13 { #expect(Int(image.pixels[y * 13 + x]) == (pattern(x, y, 0) % 4) * 85) } }
    }

    @Test func palettesExpandWithAndWithoutTransparency() throws {
        let plain = try decode("palette.png"), trns = try decode("palette_trns.png"), small = try decode("palette4.png")
        #expect(plain.channels == 3 && trns.channels == 4 && small.channels == 3)
        for y in 0..<9 { for x in 0..<13 {
            let i = pattern(x, y, 0), p = (y * 13 + x)
            #expect(Array(plain.pixels[(p * 3)..<(p * 3 + 3)]) == [UInt8(i), UInt8(255 - i), UInt8((i * 7) % 256)])
            #expect(Array(trns.pixels[(p * 4)..<(p * 4 + 4)]) == [UInt8(i), UInt8(255 - i), UInt8((i * 7) % 256), UInt8(i)])
            let j = i % 16
            #expect(Array(small.pixels[(p * 3)..<(p * 3 + 3)]) == [UInt8(j), UInt8(255 - j), UInt8((j * 7) % 256)])
        } }
    }

    @Test func formatComesFromContentNotName() throws {
        let image = try decode("png_named.jpg")
        #expect(image.info.format == .png && image.channels == 3)
    }
}

@Suite struct JPEGDecoderTests {
    /// Left half (220, 30, 30), right half (30, 30, 220), within JPEG's loss.
    func expectRedBlue(_ image: DecodedImage, width: Int = 16, tolerance: Int = 12) {
        #expect(image.width == width && image.channels == 3)
        for y in 0..<image.height { for x in 0..<image.width {
            let p = (y * image.width + x) * 3
            let expected: [Int] = x < width / 2 ? [220, 30, 30] : [30, 30, 220]
            // Pixels next to the edge blur under subsampling; check those at least 2 px away.
            guard abs(x - width / 2) >= 2 && abs(x - width / 2 + 1) >= 2 else { continue }
            for k in 0..<3 { #expect(abs(Int(image.pixels[p + k]) - expected[k]) <= tolerance, "(\(x), \(y), \(k))") }
        } }
    }

    @Test(arguments: ["baseline.jpg", "subsampled422.jpg", "subsampled420.jpg", "progressive.jpg"])
    func colourJPEGs(_ name: String) throws {
        let image = try decode(name)
        expectRedBlue(image)
        #expect(image.info.details.contains("progressive") == (name == "progressive.jpg"))
    }

    @Test func grayJPEG() throws {
        let image = try decode("gray.jpg")
        #expect(image.channels == 1)
        #expect(abs(Int(image.pixels[0]) - 40) <= 4 && abs(Int(image.pixels[15]) - 200) <= 4)
    }

    @Test func cmykBecomesRGB() throws {
        let image = try decode("cmyk.jpg")
        #expect(image.channels == 3 && image.info.details.contains("cmyk"))
        // Cyan ink alone is (0, 255, 255); black ink alone is (0, 0, 0).
        let left = Array(image.pixels[0..<3]).map(Int.init), right = Array(image.pixels[45..<48]).map(Int.init)
        #expect(left[0] <= 12 && left[1] >= 243 && left[2] >= 243, "\(left)")
        #expect(right.allSatisfy { $0 <= 12 }, "\(right)")
    }

    /// With a minimum side, a 256×192 JPEG decodes at 1/4 size (48 ≥ 40 > 24), close to the
    /// full decode averaged over 4×4 blocks.
    @Test func decodesScaledDownWhenAllowed() throws {
        let full = try ImageDecoder.decode(file: fixture("large.jpg"))
        let small = try ImageDecoder.decode(file: fixture("large.jpg"), options: DecodeOptions(minimumSide: 40))
        #expect(full.width == 256 && full.height == 192)
        #expect(small.width == 64 && small.height == 48, "\(small.width)x\(small.height)")
        #expect(small.info.details.contains { $0.contains("1/4") })
        let reference = full.toImage(channels: 3).resized(width: 64, height: 48)
        let scaled = small.toImage(channels: 3)
        var worst: Float = 0
        for i in 0..<scaled.pixels.count { worst = max(worst, abs(scaled.pixels[i] - reference.pixels[i])) }
        #expect(worst < 10 / 255, "largest difference \(worst * 255) levels")
        // Never below the minimum: 192 / 8 = 24 < 30, so 1/4 again; 192 / 2 = 96 ≥ 90 > 48.
        #expect(try ImageDecoder.decode(file: fixture("large.jpg"), options: DecodeOptions(minimumSide: 90)).height == 96)
        #expect(try ImageDecoder.decode(file: fixture("large.jpg"), options: DecodeOptions(minimumSide: 200)).height == 192)
    }

    /// Stored 16×8, red left and blue right: orientation 6 turns it clockwise (red on top),
    /// 8 anticlockwise (red at the bottom), 3 half a turn (red on the right).
    @Test func exifOrientationIsHonoured() throws {
        let six = try decode("orientation6.jpg"), eight = try decode("orientation8.jpg"), three = try decode("orientation3.jpg")
        #expect(six.width == 8 && six.height == 16 && eight.width == 8 && eight.height == 16)
        #expect(six.pixels[0] > 150 && six.pixels[(15 * 8) * 3 + 2] > 150)           // top red, bottom blue
        #expect(eight.pixels[2] > 150 && eight.pixels[(15 * 8) * 3] > 150)          // top blue, bottom red
        #expect(three.width == 16 && three.pixels[2] > 150 && three.pixels[15 * 3] > 150)  // left blue, right red
    }
}

@Suite struct HostileInputTests {
    @Test(arguments: [
        ("empty.png", "empty file"),
        ("text.png", "not a PNG or JPEG file (starts with 'hell')"),
        ("gif.png", "not a PNG or JPEG file (starts with 'GIF8')"),
        ("truncated.png", "broken PNG"),
        ("bad_crc.png", "CRC error"),
        ("zero_width.png", "broken PNG"),
        ("huge.png", "over the limit of 100000000"),
        ("truncated.jpg", "Premature end of JPEG file"),
    ])
    func brokenFilesNameTheFileAndTheCause(_ c: (String, String)) {
        do {
            _ = try decode(c.0)
            Issue.record("\(c.0) decoded")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix(fixture(c.0) + ": "), "\(message)")
            #expect(message.contains(c.1), "\(message)")
        }
    }

    @Test func thePixelLimitIsSettable() {
        #expect(throws: ImageIOError.self) { try ImageDecoder.decode(file: fixture("rgb.png"), options: DecodeOptions(maxPixels: 100)) }
        #expect(throws: ImageIOError.self) { try ImageDecoder.decode(file: fixture("baseline.jpg"), options: DecodeOptions(maxPixels: 100)) }
        #expect(throws: Never.self) { try ImageDecoder.decode(file: fixture("rgb.png"), options: DecodeOptions(maxPixels: 117)) }
    }

    @Test func missingFilesAndFolders() {
        #expect(throws: ImageIOError.unreadable(path: "/nonexistent/x.png", reason: "no such file")) {
            try ImageDecoder.decode(file: "/nonexistent/x.png")
        }
        let folder = NSTemporaryDirectory()
        #expect(throws: ImageIOError.unreadable(path: folder, reason: "is a folder")) {
            try ImageDecoder.decode(file: folder)
        }
    }

    /// Random damage anywhere in valid files never crashes or hangs: it decodes or throws.
    @Test func randomCorruptionNeverCrashes() throws {
        var state: UInt64 = 12345
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        for name in ["rgb_interlaced.png", "palette_trns.png", "progressive.jpg", "orientation6.jpg", "cmyk.jpg"] {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture(name))))
            for _ in 0..<60 {
                var bytes = original
                for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(next() % 256) }
                if next() % 3 == 0 { bytes = Array(bytes.prefix(next() % bytes.count)) }
                _ = try? ImageDecoder.decode(bytes, path: name)
            }
        }
    }
}
