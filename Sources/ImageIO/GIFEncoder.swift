// GIFEncoder: frames (Images of one size) to a looping animated GIF through giflib, written atomically.
import CGIF

public enum GIFEncoder {
    /// GIF delays are in hundredths of a second; 2 is the shortest browsers honour (less plays at 10).
    public static let delayRange = 20...655_350

    /// `frames` as GIF bytes: one palette for all (median cut over every frame), looping forever,
    /// each frame shown `delayMilliseconds` (rounded to 10 ms). Gray frames are written as gray RGB.
    public static func encode(_ frames: [Image], delayMilliseconds: Int) throws -> [UInt8] {
        guard let first = frames.first, frames.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            throw ImageIOError.writeFailed(path: "<memory>", reason: "a GIF needs frames of one size")
        }
        var rgb = [UInt8](repeating: 0, count: frames.count * first.width * first.height * 3)
        var i = 0
        for frame in frames {
            for p in 0..<(frame.width * frame.height) {
                for k in 0..<3 {
                    let v = frame.pixels[p * frame.channels + (frame.channels == 3 ? k : 0)]
                    rgb[i] = UInt8((v.isNaN ? 0 : Swift.min(Swift.max(v, 0), 1)) * 255 + 0.5)
                    i += 1
                }
            }
        }
        let centiseconds = UInt16(Swift.min(Swift.max((delayMilliseconds + 5) / 10, 2), 65535))
        var gif: UnsafeMutablePointer<UInt8>?
        var size = 0
        var err = [CChar](repeating: 0, count: 256)
        let status = rgb.withUnsafeBufferPointer {
            vae_gif_encode($0.baseAddress, UInt32(first.width), UInt32(first.height), UInt32(frames.count), centiseconds,
                           &gif, &size, &err, err.count)
        }
        guard status == 0, let gif else { throw ImageIOError.writeFailed(path: "<memory>", reason: String(cString: err)) }
        defer { vae_gif_free(gif) }
        return Array(UnsafeBufferPointer(start: gif, count: size))
    }

    /// Writes the frames as a GIF file, through a temporary file and a rename; with `bounce`, the
    /// frames play forth and back (the ends not doubled).
    public static func write(_ frames: [Image], to path: String, delayMilliseconds: Int, bounce: Bool = false) throws {
        let sequence = bounce && frames.count > 2 ? frames + frames.dropFirst().dropLast().reversed() : frames
        do {
            try AtomicFile.write(try encode(sequence, delayMilliseconds: delayMilliseconds), to: path)
        } catch ImageIOError.writeFailed(_, let reason) {
            throw ImageIOError.writeFailed(path: path, reason: reason)
        }
    }
}
