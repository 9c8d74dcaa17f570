// Conv2D: convolution as im2col + one GEMM over the batch, and its backward pass (dX, dW, db).

/// A convolution layer's shape. Activations are channel-major over the batch: (C, B, H, W).
/// weight (OC, C, k, k) as PyTorch's Conv2d, bias (OC).
public struct Conv2D: Sendable {
    public var input: ConvShape
    public var outChannels: Int

    public init(inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        input = ConvShape(channels: inChannels, height: height, width: width,
                          kernel: kernel, stride: stride, padding: padding)
        self.outChannels = outChannels
    }

    public var weightCount: Int { outChannels * input.columnRows }
    /// Floats of the column buffer for `batch` images.
    public func columnCount(batch: Int) -> Int { input.columnRows * batch * input.outHeight * input.outWidth }
    public func outputCount(batch: Int) -> Int { outChannels * batch * input.outHeight * input.outWidth }

    /// x (C, B, H, W) → col (C·k·k, B·OH·OW) → y (OC, B, OH, OW) = W·col + b.
    /// `col` is kept for the backward pass.
    public func forward(x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        col: FloatPointer, y: FloatPointer, profiler: Profiler) {
        let n = batch * input.outHeight * input.outWidth
        profiler.time(.im2col) { im2col(x, batch: batch, shape: input, into: col) }
        profiler.time(.elementwise) { fillRows(y, rows: outChannels, length: n, with: bias) }
        profiler.time(.gemm) {
            gemm(m: outChannels, n: n, k: input.columnRows, a: weight, b: col, beta: 1, c: y)
        }
    }

    /// Given dY (OC, B, OH, OW) and the forward `col`: dW += dY·colᵀ, db += Σ dY, and,
    /// when `dx` is given, dX += col2im(Wᵀ·dY). `col` is overwritten (it holds dcol after).
    public func backward(dy: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>,
                         col: FloatPointer, dWeight: FloatPointer, dBias: FloatPointer,
                         dx: FloatPointer?, profiler: Profiler) {
        let n = batch * input.outHeight * input.outWidth
        profiler.time(.elementwise) { addRowSums(dy, rows: outChannels, length: n, into: dBias) }
        profiler.time(.gemm) {
            gemm(transB: true, m: outChannels, n: input.columnRows, k: n, a: dy, b: col, beta: 1, c: dWeight)
        }
        guard let dx else { return }
        profiler.time(.gemm) {
            gemm(transA: true, m: input.columnRows, n: n, k: outChannels, a: weight, b: dy, c: col)
        }
        profiler.time(.col2im) { col2im(col, batch: batch, shape: input, into: dx) }
    }
}

/// Each of `rows` rows of `length` set to its row's value in `values` (a bias broadcast).
@inline(__always)
public func fillRows(_ y: FloatPointer, rows: Int, length: Int, with values: UnsafePointer<Float>) {
    for r in 0..<rows { (y + r * length).update(repeating: values[r], count: length) }
}

/// sums[r] += Σ_j x[r·length + j] (a bias gradient).
@inline(__always)
public func addRowSums(_ x: UnsafePointer<Float>, rows: Int, length: Int, into sums: FloatPointer) {
    for r in 0..<rows {
        let row = x + r * length
        var s: Float = 0
        for j in 0..<length { s += row[j] }
        sums[r] += s
    }
}
