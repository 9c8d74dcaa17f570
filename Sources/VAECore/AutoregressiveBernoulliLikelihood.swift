// AutoregressiveBernoulliLikelihood: Bernoulli pixels whose logits also see the pixels before them through a small masked convolution, p(x_i | x_<i, z) (PixelVAE).
import Foundation

/// The decoder's logit for pixel p gets a term from the pixels before p in raster order:
///
///     logit'[c, p] = output[c, p] + Σ_j out[c, j] · relu(bias[j] + Σ_{c', t} in[j, c', t] · x[c', p + tap_t])
///
/// where the taps are the positions of a k×k kernel before its centre (the rows above it, and the
/// pixels to its left on its row: PixelCNN's mask "A"), over every channel; the channels of one
/// pixel are independent given the pixels before it and z; x is 0 outside the image. Only the taps
/// are stored (no mask): `in` is (hidden, C, taps), `out` (C, hidden). `out` starts at 0, so a new
/// model starts as plain Bernoulli. With 0 hidden channels the term is linear, one weight
/// (C, C, taps) from the earlier pixels to the logits, also starting at 0. In training x is the data (teacher forcing: one pass of im2col
/// and GEMM); the mean image and samples fill the pixels in raster order from z's logits.
/// Why: a 16-channel 7×7 term took a 4-epoch Fashion-MNIST IWAE-100 from 238.8 to 220.3 nats in
/// a PyTorch prototype, where the same budget spent on the decoder's convolutions moved it 1–2.
public struct AutoregressiveBernoulliLikelihood: Likelihood {
    public static let kernelRange = 3...15
    public static let maximumHidden = 256

    public let kernel: Int, hidden: Int, channels: Int
    /// Row and column offsets of the taps, in raster order.
    public let taps: [(dy: Int, dx: Int)]

    public init(kernel: Int, hidden: Int, channels: Int) {
        (self.kernel, self.hidden, self.channels) = (kernel, hidden, channels)
        let r = kernel / 2
        var taps: [(dy: Int, dx: Int)] = []
        for dy in -r...0 { for dx in -r...r where dy < 0 || dx < 0 { taps.append((dy, dx)) } }
        self.taps = taps
    }

    /// Rows of the unfolded input: every channel's taps.
    var rows: Int { channels * taps.count }

    public var parameters: [ParameterSpec] {
        if hidden == 0 { return [ParameterSpec("ar.weight", [channels, channels, taps.count], fanIn: rows, role: .constant(0))] }
        return [ParameterSpec("ar.in_weight", [hidden, channels, taps.count], fanIn: rows, role: .weight),
         ParameterSpec("ar.in_bias", [hidden], fanIn: rows, role: .bias),
         ParameterSpec("ar.out_weight", [channels, hidden], fanIn: hidden, role: .constant(0))]
    }

    /// Images per GEMM: about 32k columns, so that the scratch stays a few MB whatever the batch.
    private func chunk(_ plane: Int) -> Int { Swift.max(1, 32_768 / plane) }

    /// Floats one NLL call with gradients allocates (the memory plan counts them once per shard).
    public func scratchFloats(image: TensorShape) -> Int {
        let per = chunk(image.height * image.width), columns = per * image.height * image.width
        return (rows + 2 * hidden + channels) * columns + per * image.count
    }

    public func negativeLogLikelihood(output: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int,
                                      image: TensorShape, parameters: UnsafePointer<Float>,
                                      into nll: UnsafeMutablePointer<Double>, gradient: FloatPointer?,
                                      parameterGradients: FloatPointer?, scale: Float) {
        let n = image.count, plane = image.height * image.width, per = chunk(plane)
        let inWeight = parameters, inBias = parameters + hidden * rows, outWeight = inBias + hidden
        let columns = per * plane
        let col = Buffer(count: rows * columns), h = Buffer(count: hidden * columns)
        let term = Buffer(count: channels * columns), logits = Buffer(count: per * n)
        let dh = Buffer(count: gradient == nil ? 0 : hidden * columns)
        for first in stride(from: 0, to: batch, by: per) {
            let count = Swift.min(per, batch - first), width = count * plane
            let x = targets + first * n
            unfold(x, images: count, image: image, into: col.pointer, columns: width)
            if hidden == 0 {
                gemm(m: channels, n: width, k: rows, a: parameters, b: col.pointer, ldb: width, c: term.pointer, ldc: width)
            } else {
                // h = relu(in · col + bias); term = out · h, (C, images·plane)
                for j in 0..<hidden { (h.pointer + j * width).update(repeating: inBias[j], count: width) }
                gemm(m: hidden, n: width, k: rows, a: inWeight, b: col.pointer, ldb: width, beta: 1, c: h.pointer, ldc: width)
                for i in 0..<(hidden * width) { h[i] = Swift.max(h[i], 0) }
                gemm(m: channels, n: width, k: hidden, a: outWeight, b: h.pointer, ldb: width, c: term.pointer, ldc: width)
            }
            for b in 0..<count {
                for c in 0..<channels {
                    let o = output + (first + b) * n + c * plane, t = term.pointer + c * width + b * plane
                    let l = logits.pointer + b * n + c * plane
                    for p in 0..<plane { l[p] = o[p] + t[p] }
                }
                nll[first + b] = bernoulliNLL(logits: logits.pointer + b * n, targets: x + b * n, count: n,
                                              grad: gradient.map { $0 + (first + b) * n }, scale: scale)
            }
            guard let gradient, let parameterGradients else { continue }
            // The logit gradient, gathered to (C, images·plane) in `term`.
            for b in 0..<count {
                for c in 0..<channels {
                    let g = gradient + (first + b) * n + c * plane, t = term.pointer + c * width + b * plane
                    for p in 0..<plane { t[p] = g[p] }
                }
            }
            if hidden == 0 {
                gemm(transB: true, m: channels, n: rows, k: width, a: term.pointer, lda: width, b: col.pointer, ldb: width,
                     beta: 1, c: parameterGradients)
                continue
            }
            let dIn = parameterGradients, dBias = dIn + hidden * rows, dOut = dBias + hidden
            gemm(transB: true, m: channels, n: hidden, k: width, a: term.pointer, lda: width, b: h.pointer, ldb: width,
                 beta: 1, c: dOut)
            // dh = outᵀ · g where h > 0 (h is overwritten: its positive part is all backward needs).
            for i in 0..<(hidden * width) { h[i] = h[i] > 0 ? 1 : 0 }
            gemm(transA: true, m: hidden, n: width, k: channels, a: outWeight, lda: hidden, b: term.pointer, ldb: width,
                 c: dh.pointer, ldc: width)
            for i in 0..<(hidden * width) { dh[i] *= h[i] }
            for j in 0..<hidden {
                var s: Float = 0
                let row = dh.pointer + j * width
                for i in 0..<width { s += row[i] }
                dBias[j] += s
            }
            gemm(transB: true, m: hidden, n: rows, k: width, a: dh.pointer, lda: width, b: col.pointer, ldb: width,
                 beta: 1, c: dIn)
        }
    }

    /// col[(c·taps + t), b·plane + y·W + x] = x[b, c, y + dy_t, x + dx_t], 0 outside the image.
    func unfold(_ x: UnsafePointer<Float>, images: Int, image: TensorShape, into col: FloatPointer, columns: Int) {
        let (height, width) = (image.height, image.width), plane = height * width
        for c in 0..<channels {
            for (t, tap) in taps.enumerated() {
                let row = col + (c * taps.count + t) * columns
                for b in 0..<images {
                    let source = x + (b * channels + c) * plane
                    for y in 0..<height {
                        let out = row + b * plane + y * width, sy = y + tap.dy
                        guard sy >= 0 && sy < height else { out.update(repeating: 0, count: width); continue }
                        let lo = Swift.max(0, -tap.dx), hi = Swift.min(width, width - tap.dx)
                        for xx in 0..<Swift.min(lo, width) { out[xx] = 0 }
                        if hi > lo { out.advanced(by: lo).update(from: source + sy * width + lo + tap.dx, count: hi - lo) }
                        for xx in Swift.max(hi, 0)..<width { out[xx] = 0 }
                    }
                }
            }
        }
    }

    public func mean(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
                     into images: FloatPointer) {
        fill(output: output, batch: batch, image: image, parameters: parameters, into: images) { _, probability in probability }
    }

    public func sample(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
                       random: RandomStream, start: UInt64, into images: FloatPointer) {
        let uniform = Buffer(count: batch * image.count)
        random.fillUniform(uniform.pointer, count: uniform.count, low: 0, high: 1, start: start)
        fill(output: output, batch: batch, image: image, parameters: parameters, into: images) { index, probability in
            uniform[index] < probability ? 1 : 0
        }
    }

    /// Pixels in raster order, each pixel's channels together: its probability from the decoder's
    /// logit and the term over the pixels already filled, then `value(index, probability)` stored.
    func fill(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
              into images: FloatPointer, value: (Int, Float) -> Float) {
        let (height, width) = (image.height, image.width), plane = height * width, n = image.count
        let inWeight = parameters, inBias = parameters + hidden * rows, outWeight = inBias + hidden
        var h = [Float](repeating: 0, count: hidden)
        // Σ over the taps of weights[c', t] · x[c', p + tap_t], the pixels already filled.
        func unfolded(_ weights: UnsafePointer<Float>, _ x: FloatPointer, _ y: Int, _ xx: Int) -> Float {
            var s: Float = 0
            for c in 0..<channels {
                let source = x + c * plane
                for (t, tap) in taps.enumerated() {
                    let sy = y + tap.dy, sx = xx + tap.dx
                    if sy >= 0 && sx >= 0 && sx < width { s += weights[c * taps.count + t] * source[sy * width + sx] }
                }
            }
            return s
        }
        for b in 0..<batch {
            let x = images + b * n
            for y in 0..<height {
                for xx in 0..<width {
                    for j in 0..<hidden { h[j] = Swift.max(inBias[j] + unfolded(inWeight + j * rows, x, y, xx), 0) }
                    for c in 0..<channels {
                        var logit = output[b * n + c * plane + y * width + xx]
                        if hidden == 0 { logit += unfolded(parameters + c * rows, x, y, xx) }
                        for j in 0..<hidden { logit += outWeight[c * hidden + j] * h[j] }
                        let index = b * n + c * plane + y * width + xx
                        x[c * plane + y * width + xx] = value(index, 1 / (1 + expf(-logit)))
                    }
                }
            }
        }
    }
}
