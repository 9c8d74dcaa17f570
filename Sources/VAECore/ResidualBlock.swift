// ResidualBlock: x + conv3×3(act(conv3×3(act(x)))), pre-activation, same channels in and out, and its backward pass.

/// A pre-activation residual block (He et al. 2016, "Identity Mappings in Deep Residual Networks"):
///   a1 = act(x), u = conv1(a1), a2 = act(u), y = x + conv2(a2)
/// over planes (C, B, H, W); both convolutions 3×3, stride 1, padding 1, C → C, with bias.
/// Parameters as a PyTorch module with attributes conv1 and conv2: conv1.weight (C, C, 3, 3),
/// conv1.bias (C), conv2.weight, conv2.bias. a1 and a2 (and u, for SiLU) are kept in `saved` for
/// the backward pass; the skip adds dy to dx inside the block.
public struct ResidualBlock: Sendable {
    public enum Activation: Sendable { case relu, silu }

    public let conv1: Conv2D, conv2: Conv2D
    public let activation: Activation

    public init(channels: Int, height: Int, width: Int, activation: Activation) {
        // ReLU after conv1 is fused into its bias pass; SiLU gets a pass of its own (it needs u).
        conv1 = Conv2D(inChannels: channels, outChannels: channels, height: height, width: width, kernel: 3, stride: 1,
                       padding: 1, relu: activation == .relu)
        conv2 = Conv2D(inChannels: channels, outChannels: channels, height: height, width: width, kernel: 3, stride: 1,
                       padding: 1)
        self.activation = activation
    }

    var weightCount: Int { conv1.weightCount }
    var channels: Int { conv1.outChannels }
    /// Offsets of the four tensors in the layer's parameter slice.
    var conv1Bias: Int { weightCount }
    var conv2Weight: Int { weightCount + channels }
    var conv2Bias: Int { 2 * weightCount + channels }
}

extension ResidualBlock: Layer {
    public var inputShape: TensorShape { conv1.inputShape }
    public var outputShape: TensorShape { conv1.inputShape }
    public var parameters: [ParameterSpec] {
        let fanIn = conv1.input.columnRows, w = [channels, channels, 3, 3]
        return [ParameterSpec("conv1.weight", w, fanIn: fanIn, role: .weight),
                ParameterSpec("conv1.bias", [channels], fanIn: fanIn, role: .bias),
                ParameterSpec("conv2.weight", w, fanIn: fanIn, role: .weight),
                ParameterSpec("conv2.bias", [channels], fanIn: fanIn, role: .bias)]
    }
    public var multiplyAdds: Int { conv1.multiplyAdds + conv2.multiplyAdds }
    /// dL/da2 (one output's worth), then the column matrix.
    public func scratchCount(batch: Int) -> Int { batch * outputShape.count + conv1.columnCount(batch: batch) }
    /// a1 and a2, and u for SiLU.
    public func savedCount(batch: Int) -> Int { (activation == .relu ? 2 : 3) * batch * outputShape.count }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, saved: FloatPointer, batch: Int,
                        parameters p: UnsafePointer<Float>, scratch: FloatPointer, profiler: Profiler) {
        let n = batch * outputShape.count, a1 = saved, a2 = saved + n, u = saved + 2 * n
        profiler.time(.elementwise) {
            switch activation {
            case .relu: for i in 0..<n { a1[i] = Swift.max(x[i], 0) }
            case .silu: for i in 0..<n { a1[i] = x[i] * sigmoid(x[i]) }
            }
        }
        switch activation {
        case .relu:
            conv1.forward(x: a1, batch: batch, weight: p, bias: p + conv1Bias, col: scratch, y: a2, relu: true,
                          profiler: profiler)
        case .silu:
            conv1.forward(x: a1, batch: batch, weight: p, bias: p + conv1Bias, col: scratch, y: u, profiler: profiler)
            profiler.time(.elementwise) { for i in 0..<n { a2[i] = u[i] * sigmoid(u[i]) } }
        }
        conv2.forward(x: a2, batch: batch, weight: p + conv2Weight, bias: p + conv2Bias, col: scratch, y: y,
                      profiler: profiler)
        profiler.time(.elementwise) { for i in 0..<n { y[i] += x[i] } }
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, saved: FloatPointer,
                         dx: FloatPointer?, batch: Int, parameters p: UnsafePointer<Float>, gradients: FloatPointer,
                         scratch: FloatPointer, profiler: Profiler) {
        let n = batch * outputShape.count, a1 = saved, a2 = saved + n, u = saved + 2 * n
        let g = scratch, col = scratch + n
        // dW2 += dy·a2ᵀ, db2 += Σ dy, g = dL/da2 (dy is left as it was: the skip needs it).
        conv2.backward(dy: dy, x: a2, batch: batch, weight: p + conv2Weight, col: col, dWeight: gradients + conv2Weight,
                       dBias: gradients + conv2Bias, dx: g, profiler: profiler)
        // g = dL/du.
        profiler.time(.elementwise) {
            switch activation {
            case .relu: reluBackward(g, output: a2, count: n)
            case .silu: for i in 0..<n { g[i] *= siluSlope(u[i]) }
            }
        }
        // a2 is no longer needed: it takes dL/da1.
        conv1.backward(dy: g, x: a1, batch: batch, weight: p, col: col, dWeight: gradients, dBias: gradients + conv1Bias,
                       dx: dx == nil ? nil : a2, profiler: profiler)
        guard let dx else { return }
        profiler.time(.elementwise) {
            switch activation {
            case .relu: for i in 0..<n { dx[i] = dy[i] + (x[i] > 0 ? a2[i] : 0) }
            case .silu: for i in 0..<n { dx[i] = dy[i] + a2[i] * siluSlope(x[i]) }
            }
        }
    }
}

/// d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x))).
@inline(__always)
func siluSlope(_ x: Float) -> Float {
    let s = sigmoid(x)
    return s * (1 + x * (1 - s))
}
