// SiLU: x·σ(x) (the "swish" activation of NVAE and most residual VAEs), forward and backward.
import Foundation

/// y = x·σ(x) elementwise; any shape, any layout. dy/dx = σ(x)·(1 + x·(1 − σ(x))).
public struct SiLU: StatelessLayer {
    public let inputShape: TensorShape

    public init(shape: TensorShape) { inputShape = shape }

    public var outputShape: TensorShape { inputShape }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, batch: Int, parameters: UnsafePointer<Float>,
                        scratch: FloatPointer, profiler: Profiler) {
        let n = batch * inputShape.count
        profiler.time(.elementwise) { for i in 0..<n { y[i] = x[i] * sigmoid(x[i]) } }
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: FloatPointer?,
                         batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer, scratch: FloatPointer,
                         profiler: Profiler) {
        guard let dx else { return }
        let n = batch * inputShape.count
        profiler.time(.elementwise) {
            for i in 0..<n {
                let s = sigmoid(x[i])
                dx[i] = dy[i] * s * (1 + x[i] * (1 - s))
            }
        }
    }
}

/// 1 / (1 + e^−x) without overflow for large |x|: e^−|x| ≤ 1 always.
@inline(__always)
public func sigmoid(_ x: Float) -> Float {
    let u = expOfNonPositive(-Swift.abs(x))
    return x >= 0 ? 1 / (1 + u) : u / (1 + u)
}
