// Channel conversion, resizing against a naive computation, fitting, grids and PNG round trips.
import Foundation
import Testing
import TestSupport
@testable import ImageIO

@Suite struct ImageTests {
    @Test func alphaIsCompositedOntoTheBackground() {
        // One RGBA pixel (200, 100, 0) at alpha 128/255.
        let d = DecodedImage(width: 1, height: 1, channels: 4, pixels: [200, 100, 0, 128],
                             info: .init(format: .png, channels: 4, bitDepth: 8))
        let a: Float = 128 / 255
        let onWhite = d.toImage(channels: 3, background: .white)
        assertClose(onWhite.pixels, [a * 200 / 255 + (1 - a), a * 100 / 255 + (1 - a), 1 - a], relative: 1e-6)
        let onBlack = d.toImage(channels: 3, background: .black)
        assertClose(onBlack.pixels, [a * 200 / 255, a * 100 / 255, 0], relative: 1e-6)
        let gray = d.toImage(channels: 1, background: .black)
        assertClose(gray.pixels, [0.299 * a * 200 / 255 + 0.587 * a * 100 / 255], relative: 1e-6)
    }

    @Test func grayBecomesColourByRepetitionAndBack() {
        let d = DecodedImage(width: 2, height: 1, channels: 1, pixels: [0, 77],
                             info: .init(format: .png, channels: 1, bitDepth: 8))
        let v: Float = 77 / 255
        let colour: [Float] = [0, 0, 0, v, v, v], gray: [Float] = [0, v]
        #expect(d.toImage(channels: 3).pixels == colour)
        #expect(d.toImage(channels: 1).pixels == gray)
    }

    /// Every output pixel as the exact average of the source area it covers (or bilinear sample),
    /// computed directly in 2-D, in Double.
    func naiveResize(_ image: Image, _ w: Int, _ h: Int) -> [Float] {
        func weights(_ n: Int, _ m: Int, _ i: Int) -> [(Int, Double)] {
            if m < n {
                let s = Double(n) / Double(m), lo = Double(i) * s, hi = lo + s
                return (0..<n).compactMap { j in
                    let o = min(hi, Double(j + 1)) - max(lo, Double(j))
                    return o > 0 ? (j, o / s) : nil
                }
            }
            if m == n { return [(i, 1)] }
            let p = min(max((Double(i) + 0.5) * Double(n) / Double(m) - 0.5, 0), Double(n - 1))
            let j = Int(p), f = p - Double(j)
            return j + 1 < n ? [(j, 1 - f), (j + 1, f)] : [(j, 1)]
        }
        var out: [Float] = []
        for y in 0..<h { for x in 0..<w { for c in 0..<image.channels {
            var s = 0.0
            for (sy, wy) in weights(image.height, h, y) { for (sx, wx) in weights(image.width, w, x) {
                s += wy * wx * Double(image[sx, sy, c])
            } }
            out.append(Float(s))
        } } }
        return out
    }

    @Test(arguments: [(13, 9, 5, 4), (13, 9, 26, 20), (7, 7, 3, 3), (10, 6, 4, 12), (5, 8, 5, 3)])
    func resizeMatchesADirectComputation(_ c: (Int, Int, Int, Int)) {
        var rng = TestRandom(21)
        let image = Image(width: c.0, height: c.1, channels: 3, pixels: rng.floats(c.0 * c.1 * 3, 0, 1))
        let resized = image.resized(width: c.2, height: c.3)
        #expect(resized.width == c.2 && resized.height == c.3)
        assertClose(resized.pixels, naiveResize(image, c.2, c.3), relative: 1e-5, absolute: 1e-6)
    }

    @Test func shrinkingByAWholeFactorAveragesBlocks() {
        let image = Image(width: 4, height: 2, channels: 1, pixels: [0, 1, 2, 3, 4, 5, 6, 7])
        #expect(image.resized(width: 2, height: 1).pixels == [2.5, 4.5])
    }

    @Test func fitModes() {
        var rng = TestRandom(22)
        let wide = Image(width: 12, height: 6, channels: 1, pixels: rng.floats(72, 0, 1))
        let crop = wide.fitted(side: 6, mode: .crop)
        #expect(crop.pixels == wide.cropped(x: 3, y: 0, width: 6, height: 6).pixels)
        let pad = wide.fitted(side: 6, mode: .pad, background: .black)
        #expect(pad.width == 6 && pad.height == 6)
        #expect(pad.pixels.prefix(6).allSatisfy { $0 == 0 } && pad.pixels.suffix(6).allSatisfy { $0 == 0 })
        #expect(pad.pixels[(2 * 6)..<(4 * 6)] == ArraySlice(wide.resized(width: 6, height: 3).pixels[6..<18]) ||
                pad.pixels[(1 * 6)..<(4 * 6)] == ArraySlice(wide.resized(width: 6, height: 3).pixels))
        let stretch = wide.fitted(side: 6, mode: .stretch)
        #expect(stretch.pixels == wide.resized(width: 6, height: 6).pixels)
    }

    @Test func pngRoundTripIsExact() throws {
        for channels in [1, 3] {
            var pixels: [Float] = []
            for i in 0..<(17 * 5 * channels) { pixels.append(Float(i * 37 % 256) / 255) }
            let image = Image(width: 17, height: 5, channels: channels, pixels: pixels)
            let path = temporaryFolder() + "/round.png"
            try image.writePNG(to: path)
            let back = try ImageDecoder.decode(file: path)
            #expect(back.channels == channels && back.width == 17 && back.height == 5)
            #expect(back.pixels == pixels.map { UInt8(($0 * 255).rounded()) })
            #expect(back.toImage(channels: channels).pixels == pixels)
        }
    }

    @Test func writingLeavesNoTemporaryFilesAndFailsClearly() throws {
        let folder = temporaryFolder()
        try Image(width: 2, height: 2, channels: 1, fill: 0.5).writePNG(to: folder + "/a.png")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["a.png"])
        #expect(throws: ImageIOError.self) {
            try Image(width: 2, height: 2, channels: 1).writePNG(to: folder + "/missing/a.png")
        }
    }

    @Test func gridLaysImagesOutWithGaps() {
        let tiles = (0..<5).map { Image(width: 2, height: 3, channels: 1, fill: Float($0) / 10) }
        let grid = Image.grid(tiles, columns: 3, gap: 1, background: .white)
        #expect(grid.width == 3 * 2 + 4 && grid.height == 2 * 3 + 3)
        #expect(grid[0, 0, 0] == 1)
        #expect(grid[1, 1, 0] == 0 && grid[4, 1, 0] == 0.1 && grid[7, 1, 0] == 0.2)
        #expect(grid[1, 5, 0] == 0.3 && grid[4, 5, 0] == 0.4 && grid[7, 5, 0] == 1)
        let big = tiles[1].upscaled(by: 3)
        #expect(big.width == 6 && big.height == 9 && big.pixels.allSatisfy { $0 == 0.1 })
    }

    @Test func folderScanFindsImagesByContentInSortedOrder() throws {
        let folder = temporaryFolder()
        try FileManager.default.createDirectory(atPath: folder + "/b", withIntermediateDirectories: true)
        let png = try Image(width: 1, height: 1, channels: 1).pngData()
        try Data(png).write(to: URL(fileURLWithPath: folder + "/b/z.png"))
        try Data(png).write(to: URL(fileURLWithPath: folder + "/a.data"))      // a PNG without the name
        try Data("text".utf8).write(to: URL(fileURLWithPath: folder + "/c.png"))  // the name without the PNG
        try Data(png).write(to: URL(fileURLWithPath: folder + "/.hidden.png"))
        #expect(try FolderScan.imageFiles(in: [folder]) == [folder + "/a.data", folder + "/b/z.png"])
    }
}
