// Adam: PyTorch's Adam (bias-corrected, eps outside the square root) over one flat parameter buffer.
import Foundation

public struct AdamSettings: Codable, Sendable, Equatable {
    public var learningRate: Float = 1e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        (self.learningRate, self.beta1, self.beta2, self.epsilon) = (learningRate, beta1, beta2, epsilon)
    }
}

/// Adam's state: first and second moments and the step count.
public final class Adam: @unchecked Sendable {
    public var settings: AdamSettings
    public let m: Buffer
    public let v: Buffer
    /// Updates applied so far (PyTorch's `step`).
    public var step: Int = 0

    public init(count: Int, settings: AdamSettings = AdamSettings()) {
        self.settings = settings
        m = Buffer(count: count)
        v = Buffer(count: count)
    }

    /// The scalars of update number `step` (1-based), computed in Double as PyTorch does.
    public func coefficients(step t: Int) -> (stepSize: Float, correction2Sqrt: Float) {
        let c1 = 1 - pow(Double(settings.beta1), Double(t))
        let c2 = 1 - pow(Double(settings.beta2), Double(t))
        return (Float(Double(settings.learningRate) / c1), Float(c2.squareRoot()))
    }

    /// One update of params[range] from grads[range] (times `gradScale`, for clipping),
    /// for update number `t`. Ranges let two threads update halves of the buffer.
    public func update(params: FloatPointer, grads: UnsafePointer<Float>, range: Range<Int>, step t: Int,
                       gradScale: Float = 1) {
        let (stepSize, c2) = coefficients(step: t)
        let b1 = settings.beta1, b2 = settings.beta2, eps = settings.epsilon
        let m = self.m.pointer, v = self.v.pointer
        for i in range {
            let g = grads[i] * gradScale
            m[i] += (1 - b1) * (g - m[i])              // PyTorch: exp_avg.lerp_(grad, 1 − β1)
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] -= stepSize * m[i] / (v[i].squareRoot() / c2 + eps)
        }
    }
}
