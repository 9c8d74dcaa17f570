// Linear: a fully connected layer over a batch of rows, forward and backward.

/// x (B, in) → y (B, out) = x·Wᵀ + b; weight (out, in) and bias (out) as PyTorch's Linear.
public struct Linear: Sendable {
    public var inFeatures: Int
    public var outFeatures: Int
    /// ReLU applied to the output after the GEMM (and its mask before the backward GEMMs).
    public var relu: Bool

    public init(inFeatures: Int, outFeatures: Int, relu: Bool = false) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.relu = relu
    }

    public var weightCount: Int { inFeatures * outFeatures }

    public func forward(x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                        y: FloatPointer, profiler: Profiler) {
        profiler.time(.elementwise) {
            for b in 0..<batch { (y + b * outFeatures).update(from: bias, count: outFeatures) }
        }
        profiler.time(.gemm) {
            layerGEMM(transB: true, m: batch, n: outFeatures, k: inFeatures, a: .f32(x),
                      b: BF16WeightCache.operand(weight, count: weightCount), beta: 1, c: y)
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
            layerGEMM(transA: true, m: outFeatures, n: inFeatures, k: batch, a: dy, b: x, beta: 1, c: dWeight)
            if let dx {
                layerGEMM(m: batch, n: inFeatures, k: outFeatures, a: .f32(dy),
                          b: BF16WeightCache.operand(weight, count: weightCount), beta: accumulate ? 1 : 0, c: dx)
            }
        }
    }
}

extension Linear: StatelessLayer {
    public var inputShape: TensorShape { TensorShape(features: inFeatures) }
    public var outputShape: TensorShape { TensorShape(features: outFeatures) }
    public var parameters: [ParameterSpec] {
        [ParameterSpec("weight", [outFeatures, inFeatures], fanIn: inFeatures, role: .weight),
         ParameterSpec("bias", [outFeatures], fanIn: inFeatures, role: .bias)]
    }
    public var multiplyAdds: Int { weightCount }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, batch: Int, parameters: UnsafePointer<Float>,
                        scratch: FloatPointer, profiler: Profiler) {
        forward(x: x, batch: batch, weight: parameters, bias: parameters + weightCount, y: y, profiler: profiler)
        if relu { profiler.time(.elementwise) { reluForward(y, count: batch * outFeatures) } }
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: FloatPointer?,
                         batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer, scratch: FloatPointer,
                         profiler: Profiler) {
        if relu { profiler.time(.elementwise) { reluBackward(dy, output: y, count: batch * outFeatures) } }
        backward(dy: dy, x: x, batch: batch, weight: parameters, dWeight: gradients, dBias: gradients + weightCount,
                 dx: dx, profiler: profiler)
    }
}
