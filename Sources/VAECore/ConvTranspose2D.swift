// ConvTranspose2D: transposed convolution as GEMM + col2im, its backward as im2col + GEMMs.

/// A transposed convolution: the adjoint of a Conv2D that would map the output (OC, B, OH, OW)
/// back to the input (C, B, H, W). weight (C, OC, k, k) as PyTorch's ConvTranspose2d, bias (OC).
public struct ConvTranspose2D: Sendable {
    /// The convolution this layer is the transpose of: it runs from our output to our input.
    public var output: ConvShape
    public var inChannels: Int

    /// For input side `height`×`width`, the output side is (H − 1)·s − 2p + k.
    public init(inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
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
    public func columnCount(batch: Int) -> Int { output.columnRows * batch * output.outHeight * output.outWidth }
    public func outputCount(batch: Int) -> Int { output.channels * batch * output.height * output.width }

    /// x (C, B, H, W) → col (OC·k·k, B·H·W) = Wᵀ·x → y (OC, B, OH, OW) = col2im(col) + b.
    public func forward(x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        col: FloatPointer, y: FloatPointer, profiler: Profiler) {
        let n = batch * output.outHeight * output.outWidth
        profiler.time(.gemm) {
            gemm(transA: true, m: output.columnRows, n: n, k: inChannels, a: weight, b: x, c: col)
        }
        profiler.time(.elementwise) {
            fillRows(y, rows: output.channels, length: batch * output.height * output.width, with: bias)
        }
        profiler.time(.col2im) { col2im(col, batch: batch, shape: output, into: y) }
    }

    /// Given dY (OC, B, OH, OW) and the forward input x: dcol = im2col(dY), dW += x·dcolᵀ,
    /// db += Σ dY and, when `dx` is given, dX = W·dcol (overwritten). `col` is scratch.
    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>,
                         col: FloatPointer, dWeight: FloatPointer, dBias: FloatPointer,
                         dx: FloatPointer?, profiler: Profiler) {
        let n = batch * output.outHeight * output.outWidth
        profiler.time(.elementwise) {
            addRowSums(dy, rows: output.channels, length: batch * output.height * output.width, into: dBias)
        }
        profiler.time(.im2col) { im2col(dy, batch: batch, shape: output, into: col) }
        profiler.time(.gemm) {
            gemm(transB: true, m: inChannels, n: output.columnRows, k: n, a: x, b: col, beta: 1, c: dWeight)
        }
        guard let dx else { return }
        profiler.time(.gemm) {
            gemm(m: inChannels, n: n, k: output.columnRows, a: weight, b: col, c: dx)
        }
    }
}
