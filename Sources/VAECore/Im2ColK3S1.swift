// Im2ColK3S1: im2col and col2im for the 3×3, stride-1, padding-1 convolutions of the residual family, as shifted block copies.

extension ConvShape {
    /// A 3×3 kernel, stride 1, padding 1: the shape whose columns `im2colK3S1` builds by shifting.
    var isK3S1P1: Bool { kernel == 3 && stride == 1 && padding == 1 }
}

// Why: the generic im2col copies one output row (W floats) per (c, kh, kw, image, row); at the
// 4×4 and 8×8 planes of the residual family that per-row overhead is most of its time. With
// k = 3, s = 1, p = 1 the output plane is the input plane, and for one channel the chunk's
// images lie one after another, so column-matrix row (kh, kw) is that whole run of images
// shifted by d = (kh − 1)·W + (kw − 1): one memmove per (channel, kh, kw). The entries whose
// input falls outside the image (the first or last column for kw = 0 or 2, the first or last row
// of each image for kh = 0 or 2; the shift carries a neighbour's value there) are then set to 0.

/// im2col for `isK3S1P1` shapes (same layout and result as `im2col`). The centre row (kh, kw) =
/// (1, 1) is the channel's run itself (d = 0), so it is copied (or rounded) from the input first
/// and the other eight are shifted copies of it: the input is read, and rounded, once.
func im2colK3S1<T: ColumnElement>(_ image: UnsafePointer<Float>, batch: Int, first: Int, count: Int, shape: ConvShape,
                                  into col: UnsafeMutablePointer<T>) {
    let (H, W) = (shape.height, shape.width)
    let plane = H * W, total = count * plane
    for c in 0..<shape.channels {
        let centre = col + (c * 9 + 4) * total
        T.columns(image + (c * batch + first) * plane, count: total, into: centre)
        for kh in 0..<3 {
            for kw in 0..<3 where kh != 1 || kw != 1 {
                let dst = col + ((c * 3 + kh) * 3 + kw) * total
                let d = (kh - 1) * W + (kw - 1)
                // dst[j] = centre[j + d] where j + d falls inside the run, 0 elsewhere.
                let lo = Swift.min(total, Swift.max(0, -d)), hi = Swift.min(total, total - d)
                dst.update(repeating: .zero, count: lo)
                if hi > lo { (dst + lo).update(from: centre + lo + d, count: hi - lo) }
                (dst + Swift.max(hi, lo)).update(repeating: .zero, count: total - Swift.max(hi, lo))
                zeroOutside(dst, kh: kh, kw: kw, count: count, height: H, width: W)
            }
        }
    }
}

/// Sets to 0 the entries of column-matrix row (kh, kw) whose input lies in the padding.
@inline(__always)
private func zeroOutside<T: AdditiveArithmetic>(_ row: UnsafeMutablePointer<T>, kh: Int, kw: Int, count: Int,
                                                height H: Int, width W: Int) {
    if kw != 1 {
        let column = kw == 0 ? 0 : W - 1
        for r in 0..<(count * H) { row[r * W + column] = .zero }
    }
    if kh != 1 {
        let top = kh == 0 ? 0 : (H - 1) * W
        for b in 0..<count { (row + b * H * W + top).update(repeating: .zero, count: W) }
    }
}

/// col2im for `isK3S1P1` shapes: adds into `image` what `col2im` adds (or, with `assign`,
/// overwrites the chunk's images with that sum + bias[c], then max(·, 0) with `relu`). `col` is
/// scratch: the entries that fall in the padding are zeroed in place, then each row is added
/// back shifted.
func col2imK3S1(_ col: FloatPointer, batch: Int, first: Int, count: Int, shape: ConvShape, into image: FloatPointer,
                assign: Bool = false, bias: UnsafePointer<Float>? = nil, relu: Bool = false) {
    let (H, W) = (shape.height, shape.width)
    let plane = H * W, total = count * plane
    for c in 0..<shape.channels {
        let dst = image + (c * batch + first) * plane
        if assign { dst.update(repeating: bias?[c] ?? 0, count: total) }
        for kh in 0..<3 {
            for kw in 0..<3 {
                let src = col + ((c * 3 + kh) * 3 + kw) * total
                let d = (kh - 1) * W + (kw - 1)
                zeroOutside(src, kh: kh, kw: kw, count: count, height: H, width: W)
                let lo = Swift.min(total, Swift.max(0, -d)), hi = Swift.min(total, total - d)
                if hi > lo {
                    let to = dst + d
                    for j in lo..<hi { to[j] += src[j] }
                }
            }
        }
        if assign && relu { reluForward(dst, count: total) }
    }
}
