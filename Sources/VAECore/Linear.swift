// Linear: a fully connected layer over a batch of rows, forward and backward.

/// x (B, in) → y (B, out) = x·Wᵀ + b; weight (out, in) and bias (out) as PyTorch's Linear.
public struct Linear: Sendable {
    public var inFeatures: Int
    public var outFeatures: Int

    public init(inFeatures: Int, outFeatures: Int) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    public var weightCount: Int { inFeatures * outFeatures }

    public func forward(x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        y: FloatPointer, profiler: Profiler) {
        profiler.time(.elementwise) {
            for b in 0..<batch { (y + b * outFeatures).update(from: bias, count: outFeatures) }
        }
        profiler.time(.gemm) {
            gemm(transB: true, m: batch, n: outFeatures, k: inFeatures, a: x, b: weight, beta: 1, c: y)
        }
    }

    /// dW += dYᵀ·x, db += Σ_b dY, and, when `dx` is given, dX = dY·W (`accumulate` adds instead).
    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>,
                         dWeight: FloatPointer, dBias: FloatPointer, dx: FloatPointer?, accumulate: Bool = false,
                         profiler: Profiler) {
        profiler.time(.elementwise) {
            for b in 0..<batch {
                let row = dy + b * outFeatures
                for j in 0..<outFeatures { dBias[j] += row[j] }
            }
        }
        profiler.time(.gemm) {
            gemm(transA: true, m: outFeatures, n: inFeatures, k: batch, a: dy, b: x, beta: 1, c: dWeight)
            if let dx {
                gemm(m: batch, n: inFeatures, k: outFeatures, a: dy, b: weight, beta: accumulate ? 1 : 0, c: dx)
            }
        }
    }
}
