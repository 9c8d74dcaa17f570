// GIFEncoder: frames written and decoded back by giflib: count, size, loop extension, delay, colours.
import Foundation
import Testing
import TestSupport
@testable import ImageIO

struct GIFEncoderTests {
    @Test func framesComeBackWithTheirDelayAndTheLoop() throws {
        // Three 7×5 frames: black, a red-to-blue ramp, white; few colours, so the palette holds them all.
        let ramp = Image(width: 7, height: 5, channels: 3, pixels: (0..<35).flatMap { i -> [Float] in
            let t = Float(i % 7) / 6
            return [1 - t, 0, t]
        })
        let frames = [Image(width: 7, height: 5, channels: 3, fill: 0), ramp, Image(width: 7, height: 5, channels: 3, fill: 1)]
        let path = temporaryFolder("vae-gif") + "/a.gif"
        try GIFEncoder.write(frames, to: path, delayMilliseconds: 120)
        let gif = try decodeGIF(path)
        #expect(gif.width == 7 && gif.height == 5 && gif.frames.count == 3)
        #expect(gif.delays == [12, 12, 12] && gif.loopsForever)
        for (frame, decoded) in zip(frames, gif.frames) {
            let expected = frame.pixels.map { Int(($0 * 255).rounded()) }
            // The median cut keeps 5 bits a channel in its boxes: within 8 levels.
            #expect(zip(expected, decoded).allSatisfy { abs($0 - Int($1)) <= 8 }, "\(decoded)")
        }
    }

    @Test func bounceAndGrayFrames() throws {
        let frames = (0..<4).map { Image(width: 3, height: 2, channels: 1, fill: Float($0) / 3) }
        let path = temporaryFolder("vae-gif") + "/b.gif"
        try GIFEncoder.write(frames, to: path, delayMilliseconds: 40, bounce: true)
        let gif = try decodeGIF(path)
        // 0 1 2 3 2 1: forth and back without doubling the ends.
        #expect(gif.frames.count == 6 && gif.delays.allSatisfy { $0 == 4 })
        let levels = gif.frames.map { Int($0[0]) }
        #expect(zip(levels, [0, 85, 170, 255, 170, 85]).allSatisfy { abs($0 - $1) <= 8 }, "\(levels)")
        let gray = gif.frames.allSatisfy { (f: [UInt8]) -> Bool in
            (0..<6).allSatisfy { (p: Int) -> Bool in f[3 * p] == f[3 * p + 1] && f[3 * p] == f[3 * p + 2] }
        }
        #expect(gray)
    }

    @Test func framesOfDifferentSizesAreRefused() {
        #expect(throws: ImageIOError.self) {
            try GIFEncoder.encode([Image(width: 2, height: 2, channels: 1), Image(width: 3, height: 2, channels: 1)], delayMilliseconds: 100)
        }
    }
}
