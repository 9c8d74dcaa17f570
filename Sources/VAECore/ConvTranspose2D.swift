// ConvTranspose2D: transposed convolution as GEMM + col2im, its backward as im2col + GEMMs.

/// A transposed convolution: the adjoint of a Conv2D that would map the output (OC, B, OH, OW)
/// back to the input (C, B, H, W). weight (C, OC, k, k) as PyTorch's ConvTranspose2d, bias (OC).
public struct ConvTranspose2D: Sendable {
    /// The convolution this layer is the transpose of: it runs from our output to our input.
    public var output: ConvShape
    public var inChannels: Int
    /// ReLU applied to the output as col2im writes it (and its mask in the backward pass).
    public var relu: Bool

    /// For input side `height`×`width`, the output side is (H − 1)·s − 2p + k.
    public init(inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int,
                relu: Bool = false) {
        self.relu = relu
        output = ConvShape(channels: outChannels,
                           height: (height - 1) * stride - 2 * padding + kernel,
                           width: (width - 1) * stride - 2 * padding + kernel,
                           kernel: kernel, stride: stride, padding: padding)
        self.inChannels = inChannels
    }

    public var outChannels: Int { output.channels }
    public var outHeight: Int { output.height }
    public var outWidth: Int { output.width }
    public var weightCount: Int { inChannels * output.columnRows }
    var inPlane: Int { output.outHeight * output.outWidth }
    var outPlane: Int { output.height * output.width }
    /// Images per column chunk for a batch (see ColumnChunking).
    public func chunk(batch: Int) -> Int {
        Swift.min(maxChunk ?? batch, ColumnChunking.images(batch: batch, floatsPerImage: output.columnRows * inPlane,
                                                                   columnsPerImage: inPlane))
    }
    /// At most this many images per chunk (tests use it to exercise chunking on small shapes).
    public var maxChunk: Int?
    public func columnCount(batch: Int) -> Int { output.columnRows * chunk(batch: batch) * inPlane }
    public func outputCount(batch: Int) -> Int { output.channels * batch * outPlane }

    /// Floats of `saved` that hold x rounded to bf16 (two entries a float), chunk by chunk.
    public func savedCount(batch: Int) -> Int { (inChannels * batch * inPlane + 1) / 2 }

    /// x rounded to bf16, one compact (C, count·H·W) matrix per chunk, at the chunk's place in `saved`.
    private func roundedInput(_ saved: FloatPointer, first: Int) -> UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(saved).assumingMemoryBound(to: UInt16.self) + inChannels * first * inPlane
    }

    /// x (C, B, H, W) → y (OC, B, OH, OW) = col2im(Wᵀ·x) + b, then max(y, 0) when `relu`, a chunk
    /// of images at a time (y is overwritten): col2im writes each chunk's images with the bias
    /// and ReLU applied. With `saved` (savedCount floats) and bf16 products, each chunk of x is
    /// rounded into it, where the backward pass's dW product reads it again.
    public func forward(x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        col: FloatPointer, y: FloatPointer, relu: Bool = false, saved: FloatPointer? = nil,
                        profiler: Profiler) {
        let n = batch * inPlane, step = chunk(batch: batch), keep = LayerGEMM.roundsOperands ? saved : nil
        for first in stride(from: 0, to: batch, by: step) {
            let count = Swift.min(step, batch - first), width = count * inPlane
            profiler.time(.gemm) {
                var input = GEMMOperand.f32(x + first * inPlane), ld = n
                if let keep {
                    let rounded = roundedInput(keep, first: first)
                    BF16.convert(x + first * inPlane, ld: n, rows: inChannels, cols: width, into: rounded)
                    (input, ld) = (.bf16(UnsafePointer(rounded)), width)
                }
                layerGEMM(transA: true, m: output.columnRows, n: width, k: inChannels,
                          a: BF16WeightCache.operand(weight, count: weightCount), b: input, ldb: ld, c: col)
            }
            profiler.time(.col2im) {
                col2im(col, batch: batch, first: first, count: count, shape: output, into: y,
                       assign: true, bias: bias, relu: relu)
            }
        }
    }

    /// Given dY (OC, B, OH, OW) and the forward input x: dcol = im2col(dY), dW += x·dcolᵀ,
    /// db += Σ dY and, when `dx` is given, dX = W·dcol (overwritten). `col` is scratch.
    /// With `reluOutput` (the forward's y after its ReLU), dY is first masked in place to dY·[y > 0].
    /// With `saved`, x is read as the forward pass rounded it there (bf16 products only).
    public func backward(dy: FloatPointer, x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>,
                         col: FloatPointer, dWeight: FloatPointer, dBias: FloatPointer,
                         dx: FloatPointer?, reluOutput: UnsafePointer<Float>? = nil, saved: FloatPointer? = nil,
                         profiler: Profiler) {
        let n = batch * inPlane, step = chunk(batch: batch), bf16 = LayerGEMM.roundsOperands
        let keep = bf16 ? saved : nil
        for first in stride(from: 0, to: batch, by: step) {
            let count = Swift.min(step, batch - first), width = count * inPlane
            // Mask and sum this chunk's images of dY while im2col is about to read them.
            profiler.time(.elementwise) {
                biasGradient(dy + first * outPlane, rows: output.channels, length: count * outPlane,
                             stride: batch * outPlane, into: dBias, reluOutput: reluOutput.map { $0 + first * outPlane })
            }
            // In bf16 the columns are built rounded, once for both products.
            withColumns(dy, batch: batch, first: first, count: count, shape: output, in: col, bf16: bf16,
                        profiler: profiler) { columns in
                profiler.time(.gemm) {
                    let input = keep.map { GEMMOperand.bf16(UnsafePointer(roundedInput($0, first: first))) }
                    layerGEMM(transB: true, m: inChannels, n: output.columnRows, k: width,
                              a: input ?? .f32(x + first * inPlane), lda: input == nil ? n : width,
                              b: columns, beta: 1, c: dWeight)
                }
                guard let dx else { return }
                profiler.time(.gemm) {
                    layerGEMM(m: inChannels, n: width, k: output.columnRows,
                              a: BF16WeightCache.operand(weight, count: weightCount), b: columns,
                              c: dx + first * inPlane, ldc: n)
                }
            }
        }
    }
}

extension ConvTranspose2D: Layer {
    public var inputShape: TensorShape { TensorShape(channels: inChannels, height: output.outHeight, width: output.outWidth) }
    public var outputShape: TensorShape { TensorShape(channels: outChannels, height: outHeight, width: outWidth) }
    /// PyTorch's ConvTranspose2d weight is (in, out, k, k) and its fan-in is out·k·k.
    public var parameters: [ParameterSpec] {
        [ParameterSpec("weight", [inChannels, outChannels, output.kernel, output.kernel], fanIn: output.columnRows,
                       role: .weight),
         ParameterSpec("bias", [outChannels], fanIn: output.columnRows, role: .bias)]
    }
    public var multiplyAdds: Int { weightCount * inPlane }
    public func scratchCount(batch: Int) -> Int { columnCount(batch: batch) }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, saved: FloatPointer, batch: Int,
                        parameters: UnsafePointer<Float>, scratch: FloatPointer, profiler: Profiler) {
        forward(x: x, batch: batch, weight: parameters, bias: parameters + weightCount, col: scratch, y: y, relu: relu,
                saved: saved, profiler: profiler)
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: FloatPointer,
                         dx: FloatPointer?, batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer,
                         scratch: FloatPointer, profiler: Profiler) {
        backward(dy: dy, x: x, batch: batch, weight: parameters, col: scratch, dWeight: gradients,
                 dBias: gradients + weightCount, dx: dx, reluOutput: relu ? y : nil, saved: saved, profiler: profiler)
    }
}
