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
//   twelve blocks are copies of whole column-matrix rows shifted by one column or one row
//   (one memmove per row and channel for all the chunk's images), whose entries that fall
//   across a row or image edge are then set to zero. col2im runs the same steps backwards,
//   one image at a time, so that its adds work on blocks that are still in L1 (measured faster
//   than whole rows for every plane but 8×8 → 4×4).

/// im2col for `isK4S2P1Even` shapes (same layout and result as `im2col`).
func im2colK4S2<T: ColumnElement>(_ image: UnsafePointer<Float>, batch: Int, first: Int, count: Int, shape: ConvShape,
                                  into col: UnsafeMutablePointer<T>) {
    let (H, W) = (shape.height, shape.width)
    let (OH, OW) = (H / 2, W / 2)
    let plane = H * W, block = OH * OW, total = count * block
    for c in 0..<shape.channels {
        let rows = col + c * 16 * total
        @inline(__always) func row(_ kh: Int, _ kw: Int) -> UnsafeMutablePointer<T> { rows + (kh * 4 + kw) * total }
        // Rows 2m go to block (1, ·) row m, rows 2m + 1 to block (2, ·) row m; even columns
        // to kw = 1, odd ones to kw = 2. Only these four blocks read (and round) the input;
        // the other twelve copy them.
        for b in 0..<count {
            let at = b * block
            T.split(image + (c * batch + first + b) * plane, width: W, rows: H,
                    even: (row(1, 1) + at, row(2, 1) + at), odd: (row(1, 2) + at, row(2, 2) + at))
        }
        for kh in 1...2 {
            // kw = 3: the even columns one to the left; kw = 0: the odd ones one to the right.
            let k1 = row(kh, 1), k2 = row(kh, 2), k3 = row(kh, 3), k0 = row(kh, 0)
            k3.update(from: k1 + 1, count: total - 1)
            (k0 + 1).update(from: k2, count: total - 1)
            for r in 0..<(count * OH) {
                k3[r * OW + OW - 1] = .zero
                k0[r * OW] = .zero
            }
        }
        for kw in 0..<4 {
            // kh = 3: block (1, kw) one row up; kh = 0: block (2, kw) one row down.
            let k1 = row(1, kw), k3 = row(3, kw), k2 = row(2, kw), k0 = row(0, kw)
            k3.update(from: k1 + OW, count: total - OW)
            (k0 + OW).update(from: k2, count: total - OW)
            for b in 0..<count {
                (k3 + b * block + block - OW).update(repeating: .zero, count: OW)
                (k0 + b * block).update(repeating: .zero, count: OW)
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
