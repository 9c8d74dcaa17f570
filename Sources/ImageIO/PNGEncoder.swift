// PNGEncoder: an Image to an 8-bit gray or RGB PNG through libpng, written atomically.
import CPNG

extension Image {
    /// The image as PNG bytes (samples rounded to 8 bits, clamped to [0, 1]).
    public func pngData() throws -> [UInt8] {
        let bytes = pixels.map { UInt8(($0.isNaN ? 0 : Swift.min(Swift.max($0, 0), 1)) * 255 + 0.5) }
        var png: UnsafeMutablePointer<UInt8>?
        var size = 0
        var err = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer {
            vae_png_encode($0.baseAddress, UInt32(width), UInt32(height), Int32(channels), &png, &size, &err, err.count)
        }
        guard status == 0, let png else {
            throw ImageIOError.writeFailed(path: "<memory>", reason: String(cString: err))
        }
        defer { vae_png_free(png) }
        return Array(UnsafeBufferPointer(start: png, count: size))
    }

    /// Writes the image as a PNG file, through a temporary file and a rename.
    public func writePNG(to path: String) throws {
        do {
            try AtomicFile.write(try pngData(), to: path)
        } catch ImageIOError.writeFailed(_, let reason) {
            throw ImageIOError.writeFailed(path: path, reason: reason)
        }
    }
}
