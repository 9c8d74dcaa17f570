// Activations: ReLU in place, and its backward from the saved output.

/// y = max(y, 0) in place.
@inline(__always)
public func reluForward(_ y: FloatPointer, count: Int) {
    for i in 0..<count { y[i] = Swift.max(y[i], 0) }
}

/// dY ← dY · [y > 0] in place, where y is ReLU's output (positive exactly where its input was).
@inline(__always)
public func reluBackward(_ dy: FloatPointer, output y: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { dy[i] = y[i] > 0 ? dy[i] : 0 }
}
