// --gif on interpolate and traverse: the GIF decoded back by giflib (frame count, size, loop, delay, --bounce).
import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct GIFCLITests {
    @Test func interpolateAndTraverseWriteLoopingGIFs() throws {
        let dir = temporaryFolder("vae-gifcli"), run = dir + "/run"
        #expect(try vae(["train", sampleData, "--epochs", "1", "--out", run] + tinyModel).status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: sampleData).sorted().map { sampleData + "/" + $0 }
        var r = try vae(["interpolate", run, files[0], files[9], "--steps", "4", "--scale", "2", "--gif", dir + "/i.gif", "--delay", "80"])
        #expect(r.status == 0, "\(r.stderr)")
        var gif = try decodeGIF(dir + "/i.gif")
        // A, 4 steps, B; 16 px tiles at scale 2.
        #expect(gif.frames.count == 6 && gif.width == 32 && gif.height == 32 && gif.loopsForever && gif.delays.allSatisfy { $0 == 8 })
        r = try vae(["interpolate", run, files[0], files[9], "--steps", "4", "--scale", "2", "--gif", dir + "/i.gif", "--bounce"])
        gif = try decodeGIF(dir + "/i.gif")
        #expect(gif.frames.count == 10 && gif.delays.allSatisfy { $0 == 12 } && gif.frames[1] == gif.frames[9] && gif.frames[4] == gif.frames[6])

        r = try vae(["traverse", run, "--dims", "0,1,2", "--steps", "5", "--scale", "1", "--out", dir + "/t.png", "--gif", dir + "/t.gif"])
        #expect(r.status == 0, "\(r.stderr)")
        gif = try decodeGIF(dir + "/t.gif")
        // One frame per step; each frame is the label column and one column of three 16 px rows.
        #expect(gif.frames.count == 5 && gif.height == 3 * 18 + 2 && gif.loopsForever, "\(gif.width)×\(gif.height)")
        #expect(gif.frames[0] != gif.frames[4])

        // The GIF never replaces what is not a GIF; bad delays are refused in one line.
        let over = try vae(["traverse", run, "--gif", run + "/config.json"])
        #expect(over.status != 0 && over.stderr.contains("exists and is not a GIF"))
        let same = try vae(["traverse", run, "--out", dir + "/same.png", "--gif", dir + "/same.png"])
        #expect(same.status != 0 && same.stderr.contains("is also the PNG this command writes"), "\(same.stderr)")
        let delay = try vae(["interpolate", run, files[0], files[1], "--gif", dir + "/x.gif", "--delay", "5"])
        #expect(delay.status != 0 && delay.stderr.contains("--delay must be between") && delay.stderr.split(separator: "\n").count == 1)
    }
}
