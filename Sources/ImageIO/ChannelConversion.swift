// ChannelConversion: decoded 8-bit pixels to a Float Image with 1 or 3 channels, alpha composited.
extension DecodedImage {
    /// The image with `channels` (1 or 3) Float channels in [0, 1]: colour becomes gray by
    /// BT.601 luma, gray becomes colour by repetition, and alpha is composited onto
    /// `background` (in the file's own sRGB values, as browsers show it).
    public func toImage(channels out: Int, background: Background = .white) -> Image {
        precondition(out == 1 || out == 3, "channels must be 1 or 3")
        let n = width * height, c = channels
        var result = [Float](repeating: 0, count: n * out)
        let bg = (background.red, background.green, background.blue)
        pixels.withUnsafeBufferPointer { src in
            result.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let p = i * c
                    var r: Float, g: Float, b: Float
                    if c <= 2 {
                        r = Float(src[p]) / 255; g = r; b = r
                    } else {
                        r = Float(src[p]) / 255; g = Float(src[p + 1]) / 255; b = Float(src[p + 2]) / 255
                    }
                    if c == 2 || c == 4 {
                        let a = Float(src[p + c - 1]) / 255
                        r = a * r + (1 - a) * bg.0
                        g = a * g + (1 - a) * bg.1
                        b = a * b + (1 - a) * bg.2
                    }
                    if out == 1 {
                        // Gray sources stay exact: luma of (v, v, v) is v only up to rounding.
                        dst[i] = (c <= 2 && !(c == 2 && (bg.0 != bg.1 || bg.1 != bg.2))) ? r : Luma.of(r, g, b)
                    } else {
                        dst[3 * i] = r; dst[3 * i + 1] = g; dst[3 * i + 2] = b
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: out, pixels: result)
    }
}
