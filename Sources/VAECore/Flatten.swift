// Flatten and Unflatten: the layers between planes (C, B, H, W) and per-image vectors (B, C·H·W).

/// Planes (C, B, H, W) → vectors (B, C·H·W), PyTorch's nn.Flatten order (channel, row, column).
public struct Flatten: StatelessLayer {
    public let inputShape: TensorShape

    public init(input: TensorShape) { inputShape = input }

    public var outputShape: TensorShape { TensorShape(features: inputShape.count) }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, batch: Int, parameters: UnsafePointer<Float>,
                        scratch: FloatPointer, profiler: Profiler) {
        profiler.time(.elementwise) {
            channelMajorToImageMajor(x, y, channels: inputShape.channels, batch: batch,
                                     plane: inputShape.height * inputShape.width)
        }
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: FloatPointer?,
                         batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer, scratch: FloatPointer,
                         profiler: Profiler) {
        guard let dx else { return }
        profiler.time(.elementwise) {
            imageMajorToChannelMajor(dy, dx, channels: inputShape.channels, batch: batch,
                                     plane: inputShape.height * inputShape.width)
        }
    }
}

/// Vectors (B, C·H·W) → planes (C, B, H, W): PyTorch's `.view(-1, C, H, W)`.
public struct Unflatten: StatelessLayer {
    public let outputShape: TensorShape

    public init(output: TensorShape) { outputShape = output }

    public var inputShape: TensorShape { TensorShape(features: outputShape.count) }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, batch: Int, parameters: UnsafePointer<Float>,
                        scratch: FloatPointer, profiler: Profiler) {
        profiler.time(.elementwise) {
            imageMajorToChannelMajor(x, y, channels: outputShape.channels, batch: batch,
                                     plane: outputShape.height * outputShape.width)
        }
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: FloatPointer?,
                         batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer, scratch: FloatPointer,
                         profiler: Profiler) {
        guard let dx else { return }
        profiler.time(.elementwise) {
            channelMajorToImageMajor(dy, dx, channels: outputShape.channels, batch: batch,
                                     plane: outputShape.height * outputShape.width)
        }
    }
}

/// dst[b][c][p] = src[c][b][p]: channel-major (C, B, P) to image-major (B, C, P).
@inline(__always)
public func channelMajorToImageMajor(_ src: UnsafePointer<Float>, _ dst: FloatPointer, channels: Int, batch: Int,
                                     plane: Int) {
    for c in 0..<channels {
        for b in 0..<batch {
            (dst + (b * channels + c) * plane).update(from: src + (c * batch + b) * plane, count: plane)
        }
    }
}

/// dst[c][b][p] = src[b][c][p]: image-major (B, C, P) to channel-major (C, B, P).
@inline(__always)
public func imageMajorToChannelMajor(_ src: UnsafePointer<Float>, _ dst: FloatPointer, channels: Int, batch: Int,
                                     plane: Int) {
    for c in 0..<channels {
        for b in 0..<batch {
            (dst + (c * batch + b) * plane).update(from: src + (b * channels + c) * plane, count: plane)
        }
    }
}
