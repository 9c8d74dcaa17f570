// Im2ColK4S2: im2col and col2im for the 4×4, stride-2, padding-1 layers of every VAE here, as block copies.

extension ConvShape {
    /// A 4×4 kernel, stride 2, padding 1 over an even-sized plane: the shape whose columns
    /// `im2colK4S2` builds from block copies.
    var isK4S2P1Even: Bool {
        kernel == 4 && stride == 2 && padding == 1 && height % 2 == 0 && width % 2 == 0
    }
}

// Why: the generic im2col copies one output row (OW floats, often 4–16) per (c, kh, kw, image, oh),
// so for these small planes the per-row overhead costs as much as the GEMM after it. With
// k = 4, s = 2, p = 1 the sixteen (kh, kw) blocks of an image are shifts of four:
//   block(kh, kw)[oh][ow] = x[2·oh − 1 + kh][2·ow − 1 + kw]
//   kw = 1: even columns, kw = 2: odd columns, kw = 3: kw = 1 moved left one column (0 at the
//   right edge), kw = 0: kw = 2 moved right one column (0 at the left edge); the same for rows
//   with kh. So each input row is split once into its even and odd columns, and the other
//   twelve blocks are whole-block copies (memmove) with a row or column of zeros.

/// im2col for `isK4S2P1Even` shapes (same layout and result as `im2col`).
func im2colK4S2(_ image: UnsafePointer<Float>, batch: Int, first: Int, count: Int, shape: ConvShape,
                into col: FloatPointer) {
    let (H, W) = (shape.height, shape.width)
    let (OH, OW) = (H / 2, W / 2)
    let plane = H * W, block = OH * OW, rowLength = count * block
    for c in 0..<shape.channels {
        let rows = col + c * 16 * rowLength
        @inline(__always) func dst(_ kh: Int, _ kw: Int, _ b: Int) -> FloatPointer { rows + (kh * 4 + kw) * rowLength + b * block }
        for b in 0..<count {
            let src = image + (c * batch + first + b) * plane
            // Rows 2m go to block (1, ·) row m, rows 2m + 1 to block (2, ·) row m; even columns
            // to kw = 1, odd ones to kw = 2.
            for ih in 0..<H {
                let kh = 1 + (ih & 1), m = ih >> 1
                let row = src + ih * W, even = dst(kh, 1, b) + m * OW, odd = dst(kh, 2, b) + m * OW
                for ow in 0..<OW {
                    even[ow] = row[2 * ow]
                    odd[ow] = row[2 * ow + 1]
                }
            }
            for kh in 1...2 {
                // kw = 3: the even columns one to the left; kw = 0: the odd ones one to the right.
                let k1 = dst(kh, 1, b), k2 = dst(kh, 2, b), k3 = dst(kh, 3, b), k0 = dst(kh, 0, b)
                k3.update(from: k1 + 1, count: block - 1)
                k0[0] = 0
                (k0 + 1).update(from: k2, count: block - 1)
                for m in 0..<OH {
                    k3[m * OW + OW - 1] = 0
                    k0[m * OW] = 0
                }
            }
            for kw in 0..<4 {
                // kh = 3: block (1, kw) one row up, zeros below; kh = 0: block (2, kw) one row down.
                let k1 = dst(1, kw, b), k3 = dst(3, kw, b), k2 = dst(2, kw, b), k0 = dst(0, kw, b)
                k3.update(from: k1 + OW, count: block - OW)
                (k3 + block - OW).update(repeating: 0, count: OW)
                k0.update(repeating: 0, count: OW)
                (k0 + OW).update(from: k2, count: block - OW)
            }
        }
    }
}

/// col2im for `isK4S2P1Even` shapes: adds into `image` what `col2im` adds, using `col` as
/// scratch (its contents are destroyed). The adjoint of `im2colK4S2`, step by step in reverse.
/// With `assign`, the images of the chunk are overwritten instead: image = sum + bias[c], then
/// max(·, 0) with `relu` (so a transposed convolution needs no separate bias, ReLU or zeroing pass).
func col2imK4S2(_ col: FloatPointer, batch: Int, first: Int, count: Int, shape: ConvShape, into image: FloatPointer,
                assign: Bool = false, bias: UnsafePointer<Float>? = nil, relu: Bool = false) {
    let (H, W) = (shape.height, shape.width)
    let (OH, OW) = (H / 2, W / 2)
    let plane = H * W, block = OH * OW, rowLength = count * block
    for c in 0..<shape.channels {
        let rows = col + c * 16 * rowLength
        @inline(__always) func blk(_ kh: Int, _ kw: Int, _ b: Int) -> FloatPointer { rows + (kh * 4 + kw) * rowLength + b * block }
        for b in 0..<count {
            for kw in 0..<4 {
                // Rows of kh = 3 came from block (1, kw) one row down, those of kh = 0 from (2, kw) one row up.
                let k1 = blk(1, kw, b), k3 = blk(3, kw, b), k2 = blk(2, kw, b), k0 = blk(0, kw, b)
                for i in 0..<(block - OW) {
                    k1[OW + i] += k3[i]
                    k2[i] += k0[OW + i]
                }
            }
            for kh in 1...2 {
                let k1 = blk(kh, 1, b), k2 = blk(kh, 2, b), k3 = blk(kh, 3, b), k0 = blk(kh, 0, b)
                // The entries im2col set to zero carry no gradient: clear them, then add whole blocks.
                for m in 0..<OH {
                    k3[m * OW + OW - 1] = 0
                    k0[m * OW] = 0
                }
                for i in 0..<(block - 1) {
                    k1[i + 1] += k3[i]
                    k2[i] += k0[i + 1]
                }
            }
            let dst = image + (c * batch + first + b) * plane, offset = bias?[c] ?? 0
            for ih in 0..<H {
                let kh = 1 + (ih & 1), m = ih >> 1
                let row = dst + ih * W, even = blk(kh, 1, b) + m * OW, odd = blk(kh, 2, b) + m * OW
                if !assign {
                    for ow in 0..<OW {
                        row[2 * ow] += even[ow]
                        row[2 * ow + 1] += odd[ow]
                    }
                } else if relu {
                    for ow in 0..<OW {
                        row[2 * ow] = Swift.max(even[ow] + offset, 0)
                        row[2 * ow + 1] = Swift.max(odd[ow] + offset, 0)
                    }
                } else {
                    for ow in 0..<OW {
                        row[2 * ow] = even[ow] + offset
                        row[2 * ow + 1] = odd[ow] + offset
                    }
                }
            }
        }
    }
}
