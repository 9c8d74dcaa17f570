// Naive: direct-loop reference implementations that the fast kernels are checked against.
import VAECore

/// Direct convolution, images (B, C, H, W) → (B, OC, OH, OW), weight (OC, C, k, k). Image-major on
/// purpose: the kernels work channel-major, so layouts are converted in the tests, not shared.
func naiveConv(_ x: [Float], batch: Int, shape s: ConvShape, weight: [Float], bias: [Float], outChannels: Int) -> [Float] {
    let (OH, OW, k) = (s.outHeight, s.outWidth, s.kernel)
    var y = [Float](repeating: 0, count: batch * outChannels * OH * OW)
    for b in 0..<batch {
        for oc in 0..<outChannels {
            for oh in 0..<OH {
                for ow in 0..<OW {
                    var sum = Double(bias[oc])
                    for c in 0..<s.channels {
                        for kh in 0..<k {
                            for kw in 0..<k {
                                let ih = oh * s.stride - s.padding + kh, iw = ow * s.stride - s.padding + kw
                                guard ih >= 0, ih < s.height, iw >= 0, iw < s.width else { continue }
                                sum += Double(x[((b * s.channels + c) * s.height + ih) * s.width + iw])
                                    * Double(weight[((oc * s.channels + c) * k + kh) * k + kw])
                            }
                        }
                    }
                    y[((b * outChannels + oc) * OH + oh) * OW + ow] = Float(sum)
                }
            }
        }
    }
    return y
}

/// Direct transposed convolution by scattering, x (B, C, H, W) → (B, OC, OH, OW), weight (C, OC, k, k),
/// OH = (H − 1)·stride − 2·padding + k, as PyTorch's ConvTranspose2d.
func naiveConvTranspose(_ x: [Float], batch: Int, inChannels C: Int, height H: Int, width W: Int,
                        outChannels OC: Int, kernel k: Int, stride: Int, padding: Int,
                        weight: [Float], bias: [Float]) -> [Float] {
    let OH = (H - 1) * stride - 2 * padding + k, OW = (W - 1) * stride - 2 * padding + k
    var y = [Double](repeating: 0, count: batch * OC * OH * OW)
    for b in 0..<batch {
        for oc in 0..<OC { for p in 0..<(OH * OW) { y[(b * OC + oc) * OH * OW + p] = Double(bias[oc]) } }
        for c in 0..<C {
            for ih in 0..<H {
                for iw in 0..<W {
                    let v = Double(x[((b * C + c) * H + ih) * W + iw])
                    for oc in 0..<OC {
                        for kh in 0..<k {
                            for kw in 0..<k {
                                let oh = ih * stride - padding + kh, ow = iw * stride - padding + kw
                                guard oh >= 0, oh < OH, ow >= 0, ow < OW else { continue }
                                y[((b * OC + oc) * OH + oh) * OW + ow] += v * Double(weight[((c * OC + oc) * k + kh) * k + kw])
                            }
                        }
                    }
                }
            }
        }
    }
    return y.map(Float.init)
}

/// (B, C, P) ↔ (C, B, P).
func swapBatchAndChannels(_ x: [Float], first: Int, second: Int, plane: Int) -> [Float] {
    var y = [Float](repeating: 0, count: x.count)
    for i in 0..<first { for j in 0..<second { for p in 0..<plane {
        y[(j * first + i) * plane + p] = x[(i * second + j) * plane + p]
    } } }
    return y
}

func dot(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

/// Runs a kernel that writes through pointers on copies of arrays.
func withBuffers<R>(_ arrays: [[Float]], _ body: ([FloatPointer]) -> R) -> (R, [[Float]]) {
    let buffers = arrays.map { Buffer($0) }
    let r = body(buffers.map(\.pointer))
    return (r, buffers.map(\.array))
}

/// im2col by its definition, element by element: col[(c·k + kh)·k + kw][(b·OH + oh)·OW + ow] =
/// image[c][first + b][oh·s − p + kh][ow·s − p + kw], 0 outside; image channel-major (C, batch, H, W).
func naiveIm2col(_ image: [Float], batch: Int, first: Int, count: Int, shape s: ConvShape) -> [Float] {
    let (OH, OW, k) = (s.outHeight, s.outWidth, s.kernel)
    var col = [Float](repeating: 0, count: s.columnRows * count * OH * OW)
    for c in 0..<s.channels {
        for kh in 0..<k {
            for kw in 0..<k {
                for b in 0..<count {
                    for oh in 0..<OH {
                        for ow in 0..<OW {
                            let ih = oh * s.stride - s.padding + kh, iw = ow * s.stride - s.padding + kw
                            guard ih >= 0, ih < s.height, iw >= 0, iw < s.width else { continue }
                            col[((c * k + kh) * k + kw) * count * OH * OW + (b * OH + oh) * OW + ow] =
                                image[((c * batch + first + b) * s.height + ih) * s.width + iw]
                        }
                    }
                }
            }
        }
    }
    return col
}

/// col2im by its definition: every column entry added to the pixel it was copied from (in Double).
func naiveCol2im(_ col: [Float], batch: Int, first: Int, count: Int, shape s: ConvShape, into image: [Float]) -> [Float] {
    let (OH, OW, k) = (s.outHeight, s.outWidth, s.kernel)
    var out = image.map(Double.init)
    for c in 0..<s.channels {
        for kh in 0..<k {
            for kw in 0..<k {
                for b in 0..<count {
                    for oh in 0..<OH {
                        for ow in 0..<OW {
                            let ih = oh * s.stride - s.padding + kh, iw = ow * s.stride - s.padding + kw
                            guard ih >= 0, ih < s.height, iw >= 0, iw < s.width else { continue }
                            out[((c * batch + first + b) * s.height + ih) * s.width + iw] +=
                                Double(col[((c * k + kh) * k + kw) * count * OH * OW + (b * OH + oh) * OW + ow])
                        }
                    }
                }
            }
        }
    }
    return out.map(Float.init)
}
