// PNGDecoder: PNG bytes to a DecodedImage through libpng, any colour type, depth or interlace.
import CPNG

enum PNGDecoder {
    /// Decodes `data`; `path` only names the file in errors.
    static func decode(_ data: [UInt8], path: String, maxPixels: Int) throws -> DecodedImage {
        let header = try readHeader(data, path: path)
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0, height: UInt32 = 0
        var channels: Int32 = 0
        var err = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBufferPointer { buf in
            vae_png_decode(buf.baseAddress, buf.count, UInt64(maxPixels), &pixels,
                           &width, &height, &channels, &err, err.count)
        }
        guard status == 0, let pixels else {
            let message = String(cString: err)
            if message.contains("over the limit") { throw ImageIOError.tooLarge(path: path, reason: message) }
            throw ImageIOError.corrupt(path: path, format: .png, reason: message)
        }
        defer { vae_png_free(pixels) }
        let count = Int(width) * Int(height) * Int(channels)
        return DecodedImage(width: Int(width), height: Int(height), channels: Int(channels),
                            pixels: Array(UnsafeBufferPointer(start: pixels, count: count)),
                            info: header)
    }

    /// Reads IHDR (always the first chunk) for bit depth, colour type and interlacing,
    /// which libpng's simplified API does not report.
    static func readHeader(_ data: [UInt8], path: String) throws -> DecodedImage.SourceInfo {
        guard data.count >= 33, Array(data[12..<16]) == Array("IHDR".utf8) else {
            throw ImageIOError.corrupt(path: path, format: .png, reason: "missing IHDR header")
        }
        let bitDepth = Int(data[24]), colorType = data[25], interlace = data[28]
        var info = DecodedImage.SourceInfo(format: .png, channels: 0, bitDepth: bitDepth)
        switch colorType {
        case 0: info.channels = 1; info.details.append("gray")
        case 2: info.channels = 3; info.details.append("rgb")
        case 3:
            info.details.append("palette")
            // A tRNS chunk gives palette entries alpha; look for it before IDAT.
            info.channels = hasChunk("tRNS", before: "IDAT", in: data) ? 4 : 3
            if info.channels == 4 { info.details.append("trns") }
        case 4: info.channels = 2; info.details.append("gray+alpha")
        case 6: info.channels = 4; info.details.append("rgba")
        default:
            throw ImageIOError.corrupt(path: path, format: .png, reason: "unknown colour type \(colorType)")
        }
        if colorType == 0 || colorType == 2, hasChunk("tRNS", before: "IDAT", in: data) {
            info.details.append("trns")
        }
        if interlace == 1 { info.details.append("interlaced") }
        return info
    }

    /// Walks the chunk list (bounds-checked) looking for `name` before chunk `stop`.
    static func hasChunk(_ name: String, before stop: String, in data: [UInt8]) -> Bool {
        let target = Array(name.utf8), end = Array(stop.utf8)
        var offset = 8
        while offset + 8 <= data.count {
            let length = Int(data[offset]) << 24 | Int(data[offset + 1]) << 16
                | Int(data[offset + 2]) << 8 | Int(data[offset + 3])
            let type = Array(data[(offset + 4)..<(offset + 8)])
            if type == target { return true }
            if type == end { return false }
            offset += 12 + length
        }
        return false
    }
}
