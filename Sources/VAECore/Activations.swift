// Activations: ReLU in place, and its backward from the saved output.

/// y = max(y, 0) in place.
@inline(__always)
public func reluForward(_ y: FloatPointer, count: Int) {
    for i in 0..<count { y[i] = Swift.max(y[i], 0) }
}

/// dY ← dY · [y > 0] in place, where y is ReLU's output (positive exactly where its input was).
@inline(__always)
public func reluBackward(_ dy: FloatPointer, output y: UnsafePointer<Float>, count: Int) {
    _ = reluBackwardSum(dy, output: y, count: count)
}

/// reluBackward that also returns the sum of the masked dY (a bias gradient), in one pass; with
/// `rounded`, also writes the masked dY there in bf16 (a convolution's backward pass in bf16 then
/// reads dY once instead of again to round it; the sum is the same bits either way).
/// In explicit 16-lane blocks: the plain loop's select compiled to a branch that mispredicts at
/// every sign change, 1.8× slower.
@inline(__always)
public func reluBackwardSum(_ dy: FloatPointer, output y: UnsafePointer<Float>, count: Int,
                            rounded: UnsafeMutablePointer<UInt16>? = nil) -> Float {
    let d = UnsafeMutableRawPointer(dy), o = UnsafeRawPointer(y)
    var lanes = SIMD16<Float>(repeating: 0)
    var i = 0
    while i + 16 <= count {
        let g = d.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let out = o.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let masked = g.replacing(with: 0, where: out .<= 0)
        d.storeBytes(of: masked, toByteOffset: i * 4, as: SIMD16<Float>.self)
        if let rounded { UnsafeMutableRawPointer(rounded + i).storeBytes(of: BF16.inlineBits(masked), as: SIMD16<UInt16>.self) }
        lanes += masked
        i += 16
    }
    var sum = lanes.sum()
    while i < count {
        let v = y[i] > 0 ? dy[i] : 0
        dy[i] = v
        rounded?[i] = BF16.inlineBits(v)
        sum += v
        i += 1
    }
    return sum
}
