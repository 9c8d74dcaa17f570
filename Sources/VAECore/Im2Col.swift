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

/// col[(c·k + kh)·k + kw][(b·OH + oh)·OW + ow] = image[c][first + b][oh·s − p + kh][ow·s − p + kw]
/// (0 outside), for the `count` images from `first` of a (C, batch, H, W) tensor;
/// col: (C·k·k, count·OH·OW).
public func im2col(_ image: UnsafePointer<Float>, batch: Int, first: Int = 0, count: Int? = nil, shape: ConvShape,
                   into col: FloatPointer) {
    im2colColumns(image, batch: batch, first: first, count: count ?? batch, shape: shape, into: col)
}

/// The same column matrix with each entry rounded to bf16 (BF16.bits of `im2col`'s), for bf16 products.
public func im2colBF16(_ image: UnsafePointer<Float>, batch: Int, first: Int = 0, count: Int? = nil, shape: ConvShape,
                       into col: UnsafeMutablePointer<UInt16>) {
    im2colColumns(image, batch: batch, first: first, count: count ?? batch, shape: shape, into: col)
}

func im2colColumns<T: ColumnElement>(_ image: UnsafePointer<Float>, batch: Int, first: Int, count: Int,
                                     shape: ConvShape, into col: UnsafeMutablePointer<T>) {
    if shape.isK4S2P1Even {
        im2colK4S2(image, batch: batch, first: first, count: count, shape: shape, into: col)
        return
    }
    if shape.isK3S1P1 {
        im2colK3S1(image, batch: batch, first: first, count: count, shape: shape, into: col)
        return
    }
    let (H, W, k, s, p) = (shape.height, shape.width, shape.kernel, shape.stride, shape.padding)
    let (OH, OW) = (shape.outHeight, shape.outWidth)
    let plane = H * W, rowLength = count * OH * OW
    for c in 0..<shape.channels {
        for kh in 0..<k {
            for kw in 0..<k {
                var dst = col + ((c * k + kh) * k + kw) * rowLength
                // Output columns whose input column iw = ow·s − p + kw falls inside [0, W).
                let (owLo, owHi) = validColumns(shape, kw: kw)
                for b in 0..<count {
                    let src = image + (c * batch + first + b) * plane
                    for oh in 0..<OH {
                        let ih = oh * s - p + kh
                        if ih < 0 || ih >= H || owLo >= owHi {
                            dst.update(repeating: .zero, count: OW)
                        } else {
                            let row = src + ih * W - p + kw
                            for ow in 0..<owLo { dst[ow] = .zero }
                            // Constant strides let the compiler vectorise the gather.
                            if s == 2 {
                                for ow in owLo..<owHi { dst[ow] = T.column(row[2 * ow]) }
                            } else if s == 1 {
                                T.columns(row + owLo, count: owHi - owLo, into: dst + owLo)
                            } else {
                                for ow in owLo..<owHi { dst[ow] = T.column(row[ow * s]) }
                            }
                            for ow in owHi..<OW { dst[ow] = .zero }
                        }
                        dst += OW
                    }
                }
            }
        }
    }
}

/// The adjoint of im2col: image[c][first + b][ih][iw] += every col entry that im2col copied from it.
/// Accumulates into `image`; with `assign`, the chunk's images are overwritten instead with that
/// sum plus bias[c] (when given), then max(·, 0) with `relu` — a transposed convolution's output,
/// or a convolution's dX, in one call. `col` is scratch: the 4×4 stride-2 kernel works in it,
/// so its contents are lost.
public func col2im(_ col: FloatPointer, batch: Int, first: Int = 0, count: Int? = nil, shape: ConvShape,
                   into image: FloatPointer, assign: Bool = false, bias: UnsafePointer<Float>? = nil,
                   relu: Bool = false) {
    let count = count ?? batch
    if shape.isK4S2P1Even {
        col2imK4S2(col, batch: batch, first: first, count: count, shape: shape, into: image,
                   assign: assign, bias: bias, relu: relu)
        return
    }
    if shape.isK3S1P1 {
        col2imK3S1(col, batch: batch, first: first, count: count, shape: shape, into: image,
                   assign: assign, bias: bias, relu: relu)
        return
    }
    let (H, W, k, s, p) = (shape.height, shape.width, shape.kernel, shape.stride, shape.padding)
    let (OH, OW) = (shape.outHeight, shape.outWidth)
    let plane = H * W, rowLength = count * OH * OW
    if assign {
        for c in 0..<shape.channels {
            (image + (c * batch + first) * plane).update(repeating: bias?[c] ?? 0, count: count * plane)
        }
    }
    for c in 0..<shape.channels {
        for kh in 0..<k {
            for kw in 0..<k {
                var src = col + ((c * k + kh) * k + kw) * rowLength
                let (owLo, owHi) = validColumns(shape, kw: kw)
                for b in 0..<count {
                    let dst = image + (c * batch + first + b) * plane
                    for oh in 0..<OH {
                        let ih = oh * s - p + kh
                        if ih >= 0 && ih < H && owLo < owHi {
                            let row = dst + ih * W - p + kw
                            if s == 2 {
                                for ow in owLo..<owHi { row[2 * ow] += src[ow] }
                            } else {
                                for ow in owLo..<owHi { row[ow * s] += src[ow] }
                            }
                        }
                        src += OW
                    }
                }
            }
        }
    }
    if assign && relu {
        for c in 0..<shape.channels { reluForward(image + (c * batch + first) * plane, count: count * plane) }
    }
}

/// How many images of a batch go through im2col at a time: enough for GEMMs of a useful width,
/// few enough that the column buffer stays in the core's cache between im2col and the GEMM.
public enum ColumnChunking {
    /// Floats a column buffer may hold (`vae bench --column-budget` measures others).
    nonisolated(unsafe) public static var budget = 1 << 18

    /// GEMMs narrower than this many columns run well below BLAS's best (a 2048×128×256 sgemm at
    /// 127 GFLOP/s against 149 for 2048×256×256 on one core), so small planes get bigger chunks.
    nonisolated(unsafe) public static var minimumColumns = 256

    public static func images(batch: Int, floatsPerImage: Int, columnsPerImage: Int) -> Int {
        let fitting = budget / Swift.max(floatsPerImage, 1)
        let wide = (minimumColumns + columnsPerImage - 1) / Swift.max(columnsPerImage, 1)
        return Swift.max(1, Swift.min(batch, Swift.max(fitting, wide)))
    }
}
