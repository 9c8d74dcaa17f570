// ReLU: max(x, 0) as a layer of its own, for places where no convolution or linear layer can fuse it.

/// y = max(x, 0) elementwise; any shape, any layout.
public struct ReLU: StatelessLayer {
    public let inputShape: TensorShape

    public init(shape: TensorShape) { inputShape = shape }

    public var outputShape: TensorShape { inputShape }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, batch: Int, parameters: UnsafePointer<Float>,
                        scratch: FloatPointer, profiler: Profiler) {
        let n = batch * inputShape.count
        profiler.time(.elementwise) { for i in 0..<n { y[i] = Swift.max(x[i], 0) } }
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: FloatPointer?,
                         batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer, scratch: FloatPointer,
                         profiler: Profiler) {
        guard let dx else { return }
        let n = batch * inputShape.count
        profiler.time(.elementwise) {
            reluBackward(dy, output: y, count: n)
            dx.update(from: dy, count: n)
        }
    }
}
