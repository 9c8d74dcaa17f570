// Conv2D: convolution as im2col + GEMM over chunks of the batch, and its backward pass (dX, dW, db).

/// A convolution layer's shape. Activations are channel-major over the batch: (C, B, H, W).
/// weight (OC, C, k, k) as PyTorch's Conv2d, bias (OC).
public struct Conv2D: Sendable {
    public var input: ConvShape
    public var outChannels: Int
    /// ReLU applied to the output in the same pass as the bias (and its mask in the backward pass).
    public var relu: Bool

    public init(inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int,
                relu: Bool = false) {
        input = ConvShape(channels: inChannels, height: height, width: width,
                          kernel: kernel, stride: stride, padding: padding)
        self.outChannels = outChannels
        self.relu = relu
    }

    public var weightCount: Int { outChannels * input.columnRows }
    var outPlane: Int { input.outHeight * input.outWidth }
    /// Images per im2col chunk for a batch (see ColumnChunking).
    public func chunk(batch: Int) -> Int {
        Swift.min(maxChunk ?? batch, ColumnChunking.images(batch: batch, floatsPerImage: input.columnRows * outPlane,
                                                                   columnsPerImage: outPlane))
    }
    /// At most this many images per chunk (tests use it to exercise chunking on small shapes).
    public var maxChunk: Int?
    /// Floats of the column buffer for `batch` images (one chunk's worth).
    public func columnCount(batch: Int) -> Int { input.columnRows * chunk(batch: batch) * outPlane }
    public func outputCount(batch: Int) -> Int { outChannels * batch * outPlane }

    /// x (C, B, H, W) → y (OC, B, OH, OW) = W·im2col(x) + b, then max(y, 0) when `relu`,
    /// a chunk of images at a time: each chunk's GEMM writes its columns of y in place
    /// (ldc = the whole row), and the bias and ReLU go over those columns while they are in cache.
    public func forward(x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        col: FloatPointer, y: FloatPointer, relu: Bool = false, profiler: Profiler) {
        let n = batch * outPlane, step = chunk(batch: batch), bf16 = LayerGEMM.roundsOperands
        for first in stride(from: 0, to: batch, by: step) {
            let count = Swift.min(step, batch - first), yChunk = y + first * outPlane
            withColumns(x, batch: batch, first: first, count: count, shape: input, in: col, bf16: bf16, profiler: profiler) { columns in
                profiler.time(.gemm) {
                    layerGEMM(m: outChannels, n: count * outPlane, k: input.columnRows,
                              a: BF16WeightCache.operand(weight, count: weightCount), b: columns, c: yChunk, ldc: n)
                }
            }
            profiler.time(.elementwise) {
                addBias(yChunk, rows: outChannels, length: count * outPlane, stride: n, bias: bias, relu: relu)
            }
        }
    }

    /// Given dY (OC, B, OH, OW) and the forward input x: dW += dY·im2col(x)ᵀ, db += Σ dY and,
    /// when `dx` is given, dX = col2im(Wᵀ·dY) (overwritten). `col` is scratch (im2col is recomputed per
    /// chunk, which is cheaper than keeping a batch-wide column matrix out of cache).
    /// With `reluOutput` (the forward's y after its ReLU), dY is first masked in place to
    /// dY·[y > 0], in the same pass that sums the bias gradient.
    public func backward(dy: FloatPointer, x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>,
                         col: FloatPointer, dWeight: FloatPointer, dBias: FloatPointer,
                         dx: FloatPointer?, reluOutput: UnsafePointer<Float>? = nil, profiler: Profiler) {
        let n = batch * outPlane, step = chunk(batch: batch), bf16 = LayerGEMM.roundsOperands
        for first in stride(from: 0, to: batch, by: step) {
            let count = Swift.min(step, batch - first), width = count * outPlane
            let dyChunk = dy + first * outPlane
            // dY goes into both products: in bf16 it is rounded once (compact, rows `width` long),
            // in the pass that masks it and sums the bias gradient.
            let rounded = bf16 ? BF16.buffer(slot: 0, count: outChannels * width) : nil
            profiler.time(.elementwise) {
                biasGradient(dyChunk, rows: outChannels, length: width, stride: n, into: dBias,
                             reluOutput: reluOutput.map { $0 + first * outPlane }, rounded: rounded)
            }
            let (dyOperand, ld) = rounded.map { (GEMMOperand.bf16(UnsafePointer($0)), width) } ?? (.f32(dyChunk), n)
            withColumns(x, batch: batch, first: first, count: count, shape: input, in: col, bf16: bf16, profiler: profiler) { columns in
                profiler.time(.gemm) {
                    layerGEMM(transB: true, m: outChannels, n: input.columnRows, k: width, a: dyOperand, lda: ld,
                              b: columns, beta: 1, c: dWeight)
                }
            }
            guard let dx else { continue }
            // The columns are done with: col takes the f32 product Wᵀ·dY.
            profiler.time(.gemm) {
                layerGEMM(transA: true, m: input.columnRows, n: width, k: outChannels,
                          a: BF16WeightCache.operand(weight, count: weightCount), b: dyOperand, ldb: ld, c: col)
            }
            profiler.time(.col2im) {
                col2im(col, batch: batch, first: first, count: count, shape: input, into: dx, assign: true)
            }
        }
    }
}

/// y[r][j] += bias[r], then y = max(y, 0) when `relu`, for j < length, rows `stride` apart:
/// one pass over (part of) the output.
@inline(__always)
public func addBias(_ y: FloatPointer, rows: Int, length: Int, stride: Int, bias: UnsafePointer<Float>, relu: Bool) {
    for r in 0..<rows {
        let row = y + r * stride, b = bias[r]
        if relu {
            for j in 0..<length { row[j] = Swift.max(row[j] + b, 0) }
        } else {
            for j in 0..<length { row[j] += b }
        }
    }
}

/// sums[r] += Σ_{j<length} x[r·stride + j] (a bias gradient).
@inline(__always)
public func addRowSums(_ x: UnsafePointer<Float>, rows: Int, length: Int, stride: Int, into sums: FloatPointer) {
    for r in 0..<rows { sums[r] += laneSum(x + r * stride, count: length) }
}

/// The bias gradient Σ_j dY[r][j] over `length` columns of rows `stride` apart, after masking
/// those columns of dY in place by ReLU's output (laid out as dY) when given. With `rounded`, the
/// (masked) columns are also written there in bf16, compact (rows `length` apart): behind a ReLU
/// in the same pass.
@inline(__always)
public func biasGradient(_ dy: FloatPointer, rows: Int, length: Int, stride: Int, into sums: FloatPointer,
                         reluOutput y: UnsafePointer<Float>?, rounded: UnsafeMutablePointer<UInt16>? = nil) {
    guard let y else {
        addRowSums(dy, rows: rows, length: length, stride: stride, into: sums)
        if let rounded { BF16.convert(dy, ld: stride, rows: rows, cols: length, into: rounded) }
        return
    }
    for r in 0..<rows {
        sums[r] += reluBackwardSum(dy + r * stride, output: y + r * stride, count: length,
                                   rounded: rounded.map { $0 + r * length })
    }
}

extension Conv2D: StatelessLayer {
    public var inputShape: TensorShape { TensorShape(channels: input.channels, height: input.height, width: input.width) }
    public var outputShape: TensorShape { TensorShape(channels: outChannels, height: input.outHeight, width: input.outWidth) }
    public var parameters: [ParameterSpec] {
        [ParameterSpec("weight", [outChannels, input.channels, input.kernel, input.kernel], fanIn: input.columnRows, role: .weight),
         ParameterSpec("bias", [outChannels], fanIn: input.columnRows, role: .bias)]
    }
    public var multiplyAdds: Int { weightCount * outPlane }
    public func scratchCount(batch: Int) -> Int { columnCount(batch: batch) }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, batch: Int, parameters: UnsafePointer<Float>,
                        scratch: FloatPointer, profiler: Profiler) {
        forward(x: x, batch: batch, weight: parameters, bias: parameters + weightCount, col: scratch, y: y, relu: relu,
                profiler: profiler)
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: FloatPointer?,
                         batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer, scratch: FloatPointer,
                         profiler: Profiler) {
        backward(dy: dy, x: x, batch: batch, weight: parameters, col: scratch, dWeight: gradients,
                 dBias: gradients + weightCount, dx: dx, reluOutput: relu ? y : nil, profiler: profiler)
    }
}
