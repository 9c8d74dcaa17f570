// Resize: area averaging when shrinking, bilinear when enlarging, one axis at a time.

/// How a non-square image becomes a square one.
public enum FitMode: String, Sendable, CaseIterable, Codable {
    /// Cut the centred square out of the image, then resize (the default).
    case crop
    /// Resize the long side to fit and fill the rest with the background colour.
    case pad
    /// Resize both sides to the square, distorting the aspect ratio.
    case stretch
}

extension Image {
    /// This image resized to `newWidth` × `newHeight`. Each axis is resampled on its own:
    /// by exact area averaging where it shrinks (every source pixel weighted by how much
    /// of it the target pixel covers), by bilinear interpolation where it grows
    /// (pixel centres aligned, edges clamped, as PIL and PyTorch do).
    public func resized(width newWidth: Int, height newHeight: Int) -> Image {
        precondition(newWidth > 0 && newHeight > 0, "target size must be positive")
        if newWidth == width && newHeight == height { return self }
        let xWeights = Resampler.weights(from: width, to: newWidth)
        let yWeights = Resampler.weights(from: height, to: newHeight)
        let c = channels
        // Horizontal pass: height × newWidth.
        var mid = [Float](repeating: 0, count: height * newWidth * c)
        pixels.withUnsafeBufferPointer { src in
            mid.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    for (x, taps) in xWeights.enumerated() {
                        for k in 0..<c {
                            var s: Float = 0
                            for (i, w) in taps { s += w * src[(y * width + i) * c + k] }
                            dst[(y * newWidth + x) * c + k] = s
                        }
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: newHeight * newWidth * c)
        mid.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (y, taps) in yWeights.enumerated() {
                    let row = y * newWidth * c
                    for (i, w) in taps {
                        let from = i * newWidth * c
                        for j in 0..<(newWidth * c) { dst[row + j] += w * src[from + j] }
                    }
                }
            }
        }
        return Image(width: newWidth, height: newHeight, channels: c, pixels: out)
    }

    /// The part of the image from (`x`, `y`) of size `w` × `h`.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> Image {
        precondition(x >= 0 && y >= 0 && x + w <= width && y + h <= height, "crop outside the image")
        // A square image cropped to itself: copying it would double the memory of a 100-megapixel decode.
        if x == 0 && y == 0 && w == width && h == height { return self }
        var out = [Float](repeating: 0, count: w * h * channels)
        for row in 0..<h {
            let src = ((y + row) * width + x) * channels
            out.replaceSubrange((row * w * channels)..<((row + 1) * w * channels),
                                with: pixels[src..<(src + w * channels)])
        }
        return Image(width: w, height: h, channels: channels, pixels: out)
    }

    /// A `side` × `side` image made from this one by `mode`.
    public func fitted(side: Int, mode: FitMode = .crop, background: Background = .white) -> Image {
        switch mode {
        case .stretch:
            return resized(width: side, height: side)
        case .crop:
            if width == side && height == side { return self }
            let s = Swift.min(width, height)
            return cropped(x: (width - s) / 2, y: (height - s) / 2, width: s, height: s)
                .resized(width: side, height: side)
        case .pad:
            let long = Swift.max(width, height)
            let w = Swift.max(1, (width * side + long / 2) / long)
            let h = Swift.max(1, (height * side + long / 2) / long)
            let inner = resized(width: w, height: h)
            var out = Image(width: side, height: side, channels: channels, fill: 0)
            let bg = background.values(channels: channels)
            for i in 0..<(side * side) { for k in 0..<channels { out.pixels[i * channels + k] = bg[k] } }
            out.paste(inner, x: (side - w) / 2, y: (side - h) / 2)
            return out
        }
    }

    /// Copies `other` (same channel count) into this image with its corner at (`x`, `y`).
    public mutating func paste(_ other: Image, x: Int, y: Int) {
        precondition(other.channels == channels, "channel counts differ")
        precondition(x >= 0 && y >= 0 && x + other.width <= width && y + other.height <= height,
                     "paste outside the image")
        let c = channels
        for row in 0..<other.height {
            let dst = ((y + row) * width + x) * c
            let src = row * other.width * c
            pixels.replaceSubrange(dst..<(dst + other.width * c),
                                   with: other.pixels[src..<(src + other.width * c)])
        }
    }

    /// Each pixel repeated `factor` times across and down (nearest neighbour), to look at small images.
    public func upscaled(by factor: Int) -> Image {
        precondition(factor >= 1, "factor must be at least 1")
        if factor == 1 { return self }
        let w = width * factor, h = height * factor, c = channels
        var out = [Float](repeating: 0, count: w * h * c)
        for y in 0..<h {
            for x in 0..<w {
                let s = ((y / factor) * width + x / factor) * c
                for k in 0..<c { out[(y * w + x) * c + k] = pixels[s + k] }
            }
        }
        return Image(width: w, height: h, channels: c, pixels: out)
    }
}

/// Per-axis resampling weights: for each target index, the source indices and their weights.
enum Resampler {
    static func weights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        if m == n { return (0..<n).map { [($0, 1)] } }
        return m < n ? area(from: n, to: m) : bilinear(from: n, to: m)
    }

    /// Target pixel i covers source interval [i·n/m, (i+1)·n/m); weights are overlaps / (n/m).
    static func area(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { i in
            let lo = Double(i) * scale, hi = Double(i + 1) * scale
            var taps: [(Int, Float)] = []
            var j = Int(lo.rounded(.down))
            while Double(j) < hi && j < n {
                let overlap = Swift.min(hi, Double(j + 1)) - Swift.max(lo, Double(j))
                if overlap > 1e-12 { taps.append((j, Float(overlap / scale))) }
                j += 1
            }
            return taps
        }
    }

    /// Target centre i + 0.5 maps to source position (i + 0.5)·n/m − 0.5, clamped to the edges.
    static func bilinear(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let scale = Double(n) / Double(m)
        return (0..<m).map { i in
            let s = Swift.min(Swift.max((Double(i) + 0.5) * scale - 0.5, 0), Double(n - 1))
            let j = Int(s.rounded(.down)), f = s - Double(j)
            if j + 1 >= n || f < 1e-12 { return [(j, 1)] }
            return [(j, Float(1 - f)), (j + 1, Float(f))]
        }
    }
}
