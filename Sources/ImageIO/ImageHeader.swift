// ImageHeader: the width and height a PNG or JPEG declares, read from its header without decoding.
public enum ImageHeader {
    /// The declared size, or nil when the header cannot be found. Decoders allocate pixel memory
    /// for this size, so it is what a decode costs, whatever the compressed file's size.
    public static func declaredSize(_ data: [UInt8]) -> (width: Int, height: Int)? {
        switch ImageFormat.detect(data) {
        case .png: return pngSize(data)
        case .jpeg: return jpegSize(data)
        case nil: return nil
        }
    }

    /// `declaredSize` as a pixel count; Int.max when it overflows (a PNG may declare 2³² − 1 a side).
    public static func declaredPixels(_ data: [UInt8]) -> Int? {
        declaredSize(data).map { size in
            let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
            return overflow ? Int.max : pixels
        }
    }

    /// IHDR is always the first chunk: width and height big-endian at bytes 16 and 20.
    static func pngSize(_ data: [UInt8]) -> (width: Int, height: Int)? {
        guard data.count >= 24, Array(data[12..<16]) == Array("IHDR".utf8) else { return nil }
        return (bigEndian(data, 16, 4), bigEndian(data, 20, 4))
    }

    /// Walks the marker segments up to the first start-of-frame (SOF0–SOF15 except DHT, JPG
    /// and DAC), whose payload is precision, height, width. EXIF thumbnails sit inside APP1
    /// segments, which are skipped whole, so their frames are never mistaken for the image's.
    static func jpegSize(_ data: [UInt8]) -> (width: Int, height: Int)? {
        var i = 2
        while i + 1 < data.count {
            guard data[i] == 0xFF else { return nil }
            let marker = data[i + 1]
            if marker == 0xFF { i += 1; continue }                       // fill byte
            if marker == 0x01 || (0xD0...0xD8).contains(marker) { i += 2; continue }  // no length
            if marker == 0xD9 || marker == 0xDA { return nil }          // end, or scan data before any frame
            guard i + 4 <= data.count else { return nil }
            let length = bigEndian(data, i + 2, 2)
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard length >= 7, i + 9 <= data.count else { return nil }
                return (bigEndian(data, i + 7, 2), bigEndian(data, i + 5, 2))
            }
            guard length >= 2 else { return nil }
            i += 2 + length
        }
        return nil
    }

    static func bigEndian(_ data: [UInt8], _ at: Int, _ count: Int) -> Int {
        var value = 0
        for k in 0..<count { value = value << 8 | Int(data[at + k]) }
        return value
    }
}
