// Losses: Bernoulli and Gaussian negative log-likelihoods, the Gaussian KL to N(0, I), and
// the reparameterization z = mean + exp(logvar/2)·eps, each with its gradient.
import Foundation

/// Σ_i BCE(logits_i, targets_i) in nats, computed stably as max(l, 0) − l·t + log(1 + e^−|l|).
/// When `grad` is given, grad_i = scale · (σ(l_i) − t_i) is written (not accumulated).
/// Works in blocks of 256: a loop without calls or reductions, which the compiler vectorises,
/// writes each element's loss to a stack buffer that is then summed in 16 lanes.
@inline(__always)
public func bernoulliNLL(logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int,
                         grad: FloatPointer? = nil, scale: Float = 1) -> Double {
    var total: Double = 0
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { block in
        let losses = block.baseAddress!
        var start = 0
        while start < count {
            let n = Swift.min(256, count - start)
            let l = logits + start, t = targets + start
            if let grad {
                let g = grad + start
                for i in 0..<n {
                    let u = expOfNonPositive(-Swift.abs(l[i]))
                    losses[i] = Swift.max(l[i], 0) - l[i] * t[i] + log1pOfUnit(u)
                    let inverse = 1 / (1 + u)
                    g[i] = scale * ((l[i] >= 0 ? inverse : u * inverse) - t[i])
                }
            } else {
                for i in 0..<n {
                    let u = expOfNonPositive(-Swift.abs(l[i]))
                    losses[i] = Swift.max(l[i], 0) - l[i] * t[i] + log1pOfUnit(u)
                }
            }
            total += Double(laneSum(losses, count: n))
            start += n
        }
    }
    return total
}

/// e^x for x ≤ 0 in plain arithmetic (vectorisable, unlike a call to expf): x = n·ln2 + r with
/// |r| ≤ ln2/2 (ln2 split in two for exactness), e^r by its degree-6 Taylor polynomial (relative
/// error under 2e-7), 2^n built in the exponent bits. Below −87.3 it returns e^−87.3 ≈ 1e-38.
@inline(__always)
public func expOfNonPositive(_ x: Float) -> Float {
    let xc = Swift.max(x, -87.3)
    let n = (xc * 1.442_695_04).rounded(.toNearestOrEven)
    let r = (xc - n * 0.693_145_75) - n * 1.428_606_8e-6
    var p: Float = 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    // A NaN input (a diverged model) must still give an integer exponent; p is NaN already.
    let exponent = Int32(n.isNaN ? 0 : n)
    return p * Float(bitPattern: UInt32(truncatingIfNeeded: exponent + 127) << 23)
}

/// log(1 + u) for u in [−½, 1], as 2·atanh(s) with |s| = |u/(2 + u)| ≤ 1/3 (no cancellation for small u),
/// by its odd series to s¹³ (relative error under 1e-8).
@inline(__always)
public func log1pOfUnit(_ u: Float) -> Float {
    let s = u / (2 + u), q = s * s
    var p: Float = 1.0 / 13
    p = p * q + 1.0 / 11
    p = p * q + 1.0 / 9
    p = p * q + 1.0 / 7
    p = p * q + 1.0 / 5
    p = p * q + 1.0 / 3
    p = p * q + 1
    return 2 * s * p
}

/// Σ_i −log N(t_i; mean_i, σ²) with σ = exp(logScale), in nats.
/// When `grad` is given, grad_i = scale · (mean_i − t_i)/σ² is written; `dLogScale` receives
/// scale · Σ_i (1 − ((t_i − mean_i)/σ)²), the derivative with respect to logScale.
@inline(__always)
public func gaussianNLL(means: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int, logScale: Float,
                        grad: FloatPointer? = nil, scale: Float = 1, dLogScale: UnsafeMutablePointer<Double>? = nil) -> Double {
    let inverseVariance = expf(-2 * logScale)
    let constant = Double(logScale) + 0.5 * log(2 * Double.pi)
    var squares: Double = 0
    for i in 0..<count {
        let d = targets[i] - means[i]
        squares += Double(d * d)
        if let grad { grad[i] = scale * (-d) * inverseVariance }
    }
    let standardized = squares * Double(inverseVariance)
    if let dLogScale { dLogScale.pointee += Double(scale) * (Double(count) - standardized) }
    return 0.5 * standardized + Double(count) * constant
}

/// Σ_j KL(N(mean_j, e^{logVariance_j}) ‖ N(0, 1)) = ½ Σ (mean² + e^{lv} − 1 − lv), in nats.
/// When gradients are given, scale·mean and scale·½(e^{lv} − 1) are added to them.
@inline(__always)
public func klStandardNormal(mean: UnsafePointer<Float>, logVariance: UnsafePointer<Float>, count: Int,
                             dMean: FloatPointer? = nil, dLogVariance: FloatPointer? = nil, scale: Float = 1) -> Double {
    var total: Double = 0
    for j in 0..<count {
        let m = mean[j], lv = logVariance[j], v = expf(lv)
        total += 0.5 * Double(m * m + v - 1 - lv)
        dMean?[j] += scale * m
        dLogVariance?[j] += scale * 0.5 * (v - 1)
    }
    return total
}

/// z = mean + exp(logVariance/2)·eps.
@inline(__always)
public func reparameterize(mean: UnsafePointer<Float>, logVariance: UnsafePointer<Float>, eps: UnsafePointer<Float>,
                           z: FloatPointer, count: Int) {
    for j in 0..<count { z[j] = mean[j] + expf(0.5 * logVariance[j]) * eps[j] }
}

/// dMean += dz; dLogVariance += dz · eps · ½·exp(logVariance/2).
@inline(__always)
public func reparameterizeBackward(dz: UnsafePointer<Float>, logVariance: UnsafePointer<Float>, eps: UnsafePointer<Float>,
                                   dMean: FloatPointer, dLogVariance: FloatPointer, count: Int) {
    for j in 0..<count {
        dMean[j] += dz[j]
        dLogVariance[j] += dz[j] * eps[j] * 0.5 * expf(0.5 * logVariance[j])
    }
}
