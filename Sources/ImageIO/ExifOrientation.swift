// ExifOrientation: reads the EXIF orientation tag from a JPEG and turns the pixels upright.
enum ExifOrientation {
    /// The orientation (1...8) in the JPEG's APP1 EXIF segment, or 1 when there is none.
    /// Every offset is bounds-checked: a hostile EXIF block only means "no orientation".
    static func read(fromJPEG data: [UInt8]) -> Int {
        var offset = 2
        while offset + 4 <= data.count, data[offset] == 0xFF {
            let marker = data[offset + 1]
            if marker == 0xDA || marker == 0xD9 { break }  // image data starts: no more headers
            let length = Int(data[offset + 2]) << 8 | Int(data[offset + 3])
            let start = offset + 4, end = offset + 2 + length
            guard length >= 2, end <= data.count else { break }
            if marker == 0xE1, end - start > 14,
               Array(data[start..<(start + 6)]) == [0x45, 0x78, 0x69, 0x66, 0, 0] {
                return orientation(inTIFF: Array(data[(start + 6)..<end])) ?? 1
            }
            offset = end
        }
        return 1
    }

    private static func orientation(inTIFF t: [UInt8]) -> Int? {
        guard t.count >= 8 else { return nil }
        let little: Bool
        switch (t[0], t[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ i: Int) -> Int? {
            guard i >= 0, i + 2 <= t.count else { return nil }
            return little ? Int(t[i]) | Int(t[i + 1]) << 8 : Int(t[i]) << 8 | Int(t[i + 1])
        }
        func u32(_ i: Int) -> Int? {
            guard let a = u16(i), let b = u16(i + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for entry in 0..<count {
            let e = ifd + 2 + 12 * entry
            guard let tag = u16(e) else { return nil }
            if tag == 0x0112, let value = u16(e + 8), (1...8).contains(value) { return value }
        }
        return nil
    }

    /// The image as it should be displayed for EXIF orientation `o` (1...8).
    static func apply(_ o: Int, to image: DecodedImage) -> DecodedImage {
        let w = image.width, h = image.height, c = image.channels
        let swaps = o >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<oh {
                    for x in 0..<ow {
                        let (sx, sy): (Int, Int)
                        switch o {
                        case 2: (sx, sy) = (w - 1 - x, y)
                        case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                        case 4: (sx, sy) = (x, h - 1 - y)
                        case 5: (sx, sy) = (y, x)
                        case 6: (sx, sy) = (y, h - 1 - x)
                        case 7: (sx, sy) = (w - 1 - y, h - 1 - x)
                        case 8: (sx, sy) = (w - 1 - y, x)
                        default: (sx, sy) = (x, y)
                        }
                        for k in 0..<c { dst[(y * ow + x) * c + k] = src[(sy * w + sx) * c + k] }
                    }
                }
            }
        }
        return DecodedImage(width: ow, height: oh, channels: c, pixels: out, info: image.info)
    }
}
