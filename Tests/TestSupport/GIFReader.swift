// GIFReader: a GIF decoded back by giflib's DGifSlurp, for tests of what the GIF writer made.
import CGIF

public struct DecodedGIF {
    public var width: Int, height: Int
    /// Each frame's RGB bytes, interleaved.
    public var frames: [[UInt8]]
    /// Each frame's delay, in hundredths of a second (from its graphics control block; -1 if none).
    public var delays: [Int]
    /// Whether a NETSCAPE2.0 application extension asks for endless looping (loop count 0).
    public var loopsForever: Bool
}

public struct GIFReadError: Error, CustomStringConvertible {
    public var description: String
}

public func decodeGIF(_ path: String) throws -> DecodedGIF {
    var code: Int32 = 0
    guard let gif = DGifOpenFileName(path, &code) else { throw GIFReadError(description: "\(path): \(String(cString: GifErrorString(code)))") }
    defer { var closeCode: Int32 = 0; DGifCloseFile(gif, &closeCode) }
    guard DGifSlurp(gif) == GIF_OK else { throw GIFReadError(description: "\(path): \(String(cString: GifErrorString(gif.pointee.Error)))") }
    let g = gif.pointee
    var result = DecodedGIF(width: Int(g.SWidth), height: Int(g.SHeight), frames: [], delays: [], loopsForever: false)
    func scan(_ blocks: UnsafeMutablePointer<ExtensionBlock>?, _ count: Int32) {
        guard let blocks, count > 0 else { return }
        for i in 0..<Int(count) where blocks[i].Function == APPLICATION_EXT_FUNC_CODE && blocks[i].ByteCount == 11 {
            let name = String(decoding: UnsafeBufferPointer(start: blocks[i].Bytes, count: 11), as: UTF8.self)
            if name == "NETSCAPE2.0", i + 1 < Int(count), blocks[i + 1].ByteCount == 3,
               blocks[i + 1].Bytes[0] == 1, blocks[i + 1].Bytes[1] == 0, blocks[i + 1].Bytes[2] == 0 {
                result.loopsForever = true
            }
        }
    }
    scan(g.ExtensionBlocks, g.ExtensionBlockCount)
    for f in 0..<Int(g.ImageCount) {
        let image = g.SavedImages[f]
        scan(image.ExtensionBlocks, image.ExtensionBlockCount)
        var gcb = GraphicsControlBlock()
        result.delays.append(DGifSavedExtensionToGCB(gif, Int32(f), &gcb) == GIF_OK ? Int(gcb.DelayTime) : -1)
        guard let map = image.ImageDesc.ColorMap ?? g.SColorMap else { throw GIFReadError(description: "\(path): no palette") }
        let w = Int(image.ImageDesc.Width), h = Int(image.ImageDesc.Height)
        var rgb = [UInt8](repeating: 0, count: result.width * result.height * 3)
        for y in 0..<h {
            for x in 0..<w {
                let c = map.pointee.Colors[Int(image.RasterBits[y * w + x])]
                let at = ((y + Int(image.ImageDesc.Top)) * result.width + x + Int(image.ImageDesc.Left)) * 3
                (rgb[at], rgb[at + 1], rgb[at + 2]) = (c.Red, c.Green, c.Blue)
            }
        }
        result.frames.append(rgb)
    }
    return result
}
