// Losses: Bernoulli and Gaussian negative log-likelihoods, the Gaussian KL to N(0, I), and
// the reparameterization z = mean + exp(logvar/2)·eps, each with its gradient.
import Foundation

/// Σ_i BCE(logits_i, targets_i) in nats, computed stably as max(l, 0) − l·t + log(1 + e^−|l|).
/// When `grad` is given, grad_i = scale · (σ(l_i) − t_i) is written (not accumulated).
@inline(__always)
public func bernoulliNLL(logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int,
                         grad: FloatPointer? = nil, scale: Float = 1) -> Double {
    var total: Double = 0
    var chunk: Float = 0
    for i in 0..<count {
        let l = logits[i], t = targets[i]
        let e = expf(-Swift.abs(l))
        chunk += Swift.max(l, 0) - l * t + log1pf(e)
        if let grad {
            let sigmoid = l >= 0 ? 1 / (1 + e) : e / (1 + e)
            grad[i] = scale * (sigmoid - t)
        }
        // Sum in Float over short runs, in Double across them: fast and accurate enough.
        if i & 255 == 255 { total += Double(chunk); chunk = 0 }
    }
    return total + Double(chunk)
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
