// Sums: Float sums with sixteen independent lanes, which the compiler cannot make from a
// plain `s += x[i]` loop (IEEE addition is not associative, so it keeps one serial chain).

/// Σ_{i<count} x[i], accumulated in 16 lanes.
@inline(__always)
public func laneSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD16<Float>(repeating: 0)
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 16 <= count {
        lanes += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    var s = lanes.sum()
    while i < count { s += x[i]; i += 1 }
    return s
}

/// Σ_{i<count} x[i]², accumulated in 16 lanes.
@inline(__always)
public func laneSumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD16<Float>(repeating: 0)
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 16 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        lanes += v * v
        i += 16
    }
    var s = lanes.sum()
    while i < count { s += x[i] * x[i]; i += 1 }
    return s
}
