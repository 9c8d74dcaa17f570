// Upsample: nearest-neighbour ×2 enlargement of planes (PyTorch's nn.Upsample(scale_factor=2)), and its backward pass.

/// Planes (C, B, H, W) → (C, B, 2H, 2W), each value copied to a 2×2 block: followed by a 3×3
/// convolution it replaces a transposed convolution without its checkerboard pattern.
/// Backward: each input's gradient is the sum over its 2×2 block.
public struct Upsample: StatelessLayer {
    public let inputShape: TensorShape

    public init(input: TensorShape) { inputShape = input }

    public var outputShape: TensorShape {
        TensorShape(channels: inputShape.channels, height: 2 * inputShape.height, width: 2 * inputShape.width)
    }

    public func forward(_ x: UnsafePointer<Float>, into y: FloatPointer, batch: Int, parameters: UnsafePointer<Float>,
                        scratch: FloatPointer, profiler: Profiler) {
        let (H, W) = (inputShape.height, inputShape.width)
        profiler.time(.elementwise) {
            for plane in 0..<(inputShape.channels * batch) {
                let src = x + plane * H * W, dst = y + plane * 4 * H * W
                for ih in 0..<H {
                    let row = src + ih * W, top = dst + 2 * ih * 2 * W
                    for iw in 0..<W {
                        top[2 * iw] = row[iw]
                        top[2 * iw + 1] = row[iw]
                    }
                    (top + 2 * W).update(from: top, count: 2 * W)
                }
            }
        }
    }

    public func backward(_ dy: FloatPointer, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: FloatPointer?,
                         batch: Int, parameters: UnsafePointer<Float>, gradients: FloatPointer, scratch: FloatPointer,
                         profiler: Profiler) {
        guard let dx else { return }
        let (H, W) = (inputShape.height, inputShape.width)
        profiler.time(.elementwise) {
            for plane in 0..<(inputShape.channels * batch) {
                let src = dy + plane * 4 * H * W, dst = dx + plane * H * W
                for ih in 0..<H {
                    let top = src + 2 * ih * 2 * W, bottom = top + 2 * W, row = dst + ih * W
                    for iw in 0..<W { row[iw] = (top[2 * iw] + top[2 * iw + 1]) + (bottom[2 * iw] + bottom[2 * iw + 1]) }
                }
            }
        }
    }
}
