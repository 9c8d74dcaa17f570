// Im2Col: im2col and col2im over a batch laid out channel-major, [C][B][H][W] (darknet's, batched).

/// The shape of one 2-D convolution: `channels` input planes of `height`×`width` per image,
/// a square `kernel`, `stride` and zero `padding`, giving `outHeight`×`outWidth` outputs.
public struct ConvShape: Sendable, Equatable {
    public var channels, height, width, kernel, stride, padding: Int

    public init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        (self.channels, self.height, self.width) = (channels, height, width)
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    }

    public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    /// Rows of the column matrix: one per (channel, kernel row, kernel column).
    public var columnRows: Int { channels * kernel * kernel }
}

/// The output columns ow whose input column ow·s − p + kw falls inside [0, W), as a half-open range.
@inline(__always)
func validColumns(_ shape: ConvShape, kw: Int) -> (Int, Int) {
    let (W, s, p) = (shape.width, shape.stride, shape.padding)
    let lo = Swift.max(0, (p - kw + s - 1) / s)          // ceil((p − kw) / s), clamped at 0
    let top = W - 1 + p - kw                              // floor(top / s) + 1, or none when top < 0
    let hi = top < 0 ? 0 : Swift.min(shape.outWidth, top / s + 1)
    return (lo, Swift.max(lo, hi))
}

/// col[(c·k + kh)·k + kw][(b·OH + oh)·OW + ow] = image[c][b][oh·s − p + kh][ow·s − p + kw] (0 outside).
/// image: (C, B, H, W); col: (C·k·k, B·OH·OW).
public func im2col(_ image: UnsafePointer<Float>, batch: Int, shape: ConvShape, into col: FloatPointer) {
    let (H, W, k, s, p) = (shape.height, shape.width, shape.kernel, shape.stride, shape.padding)
    let (OH, OW) = (shape.outHeight, shape.outWidth)
    let plane = H * W, rowLength = batch * OH * OW
    for c in 0..<shape.channels {
        for kh in 0..<k {
            for kw in 0..<k {
                var dst = col + ((c * k + kh) * k + kw) * rowLength
                // Output columns whose input column iw = ow·s − p + kw falls inside [0, W).
                let (owLo, owHi) = validColumns(shape, kw: kw)
                for b in 0..<batch {
                    let src = image + (c * batch + b) * plane
                    for oh in 0..<OH {
                        let ih = oh * s - p + kh
                        if ih < 0 || ih >= H || owLo >= owHi {
                            dst.update(repeating: 0, count: OW)
                        } else {
                            let row = src + ih * W - p + kw
                            for ow in 0..<owLo { dst[ow] = 0 }
                            for ow in owLo..<owHi { dst[ow] = row[ow * s] }
                            for ow in owHi..<OW { dst[ow] = 0 }
                        }
                        dst += OW
                    }
                }
            }
        }
    }
}

/// The adjoint of im2col: image[c][b][ih][iw] += every col entry that im2col copied from it.
/// Accumulates into `image` (zero it first for a plain result).
public func col2im(_ col: UnsafePointer<Float>, batch: Int, shape: ConvShape, into image: FloatPointer) {
    let (H, W, k, s, p) = (shape.height, shape.width, shape.kernel, shape.stride, shape.padding)
    let (OH, OW) = (shape.outHeight, shape.outWidth)
    let plane = H * W, rowLength = batch * OH * OW
    for c in 0..<shape.channels {
        for kh in 0..<k {
            for kw in 0..<k {
                var src = col + ((c * k + kh) * k + kw) * rowLength
                let (owLo, owHi) = validColumns(shape, kw: kw)
                for b in 0..<batch {
                    let dst = image + (c * batch + b) * plane
                    for oh in 0..<OH {
                        let ih = oh * s - p + kh
                        if ih >= 0 && ih < H && owLo < owHi {
                            let row = dst + ih * W - p + kw
                            for ow in owLo..<owHi { row[ow * s] += src[ow] }
                        }
                        src += OW
                    }
                }
            }
        }
    }
}
