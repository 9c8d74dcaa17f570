// LatentClamp: NVAE's soft clamp of the posterior heads, bound·tanh(x/bound), and its backward pass.
import Foundation
import VAECore

/// Why: a colour model trained for half an hour at lr 1e-3 blew up in one step with the KL at
/// 10⁹ nats (an encoder head gone huge), and never recovered; gradient clipping did not stop it,
/// since the value exploded in the forward pass. NVAE (Vahdat & Kautz 2020, `soft_clamp5` in its
/// distributions.py) bounds the posterior's mean and log σ this way: near zero it is the
/// identity (slope 1 − (x/b)²), so ordinary codes barely change, and it can never exceed ±b.
public enum LatentClamp {
    /// x ← bound·tanh(x/bound), in place.
    @inline(__always)
    public static func forward(_ x: FloatPointer, count: Int, bound: Float) {
        for i in 0..<count { x[i] = bound * Foundation.tanh(x[i] / bound) }
    }

    /// dx ← dy·(1 − (y/bound)²) in place, from the clamped output y: the slope of bound·tanh(x/bound).
    @inline(__always)
    public static func backward(_ grad: FloatPointer, output y: UnsafePointer<Float>, count: Int, bound: Float) {
        for i in 0..<count {
            let t = y[i] / bound
            grad[i] *= 1 - t * t
        }
    }
}
