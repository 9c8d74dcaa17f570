// MixturePrior: p(z) as a mixture of diagonal Gaussians learned with the model, its log-density and gradients.

import Foundation

/// p(z) = Σₖ πₖ N(z; mₖ, diag(exp(2 sₖ))), πₖ = softmax(w)ₖ: a prior trained with the rest of the
/// model (the mixture-of-Gaussians prior of Tomczak & Welling 2018, "VAE with a VampPrior"), so
/// the KL term pulls the posteriors towards where the prior is and the prior towards where the
/// posteriors are, instead of every code towards N(0, I). The KL then has no closed form; the
/// network takes it as log q(z|x) − log p(z) at the sampled z (one-sample Monte Carlo).
///
/// Parameters, in this order: means (K, D), log_scales (K, D), logits (K).
public struct MixturePrior: Sendable {
    public let components: Int
    public let dimension: Int

    public init(components: Int, dimension: Int) {
        precondition(components >= 1 && dimension >= 1)
        (self.components, self.dimension) = (components, dimension)
    }

    /// Means start as draws from N(0, 1), so that components begin apart; scales at 1, weights equal.
    public var parameters: [ParameterSpec] {
        [ParameterSpec("means", [components, dimension], fanIn: dimension, role: .normal(1)),
         ParameterSpec("log_scales", [components, dimension], fanIn: dimension, role: .constant(0)),
         ParameterSpec("logits", [components], fanIn: components, role: .constant(0))]
    }

    public var parameterCount: Int { components * (2 * dimension + 1) }

    /// log p(z) for one code. With `dz`, writes ∂log p/∂z there (D values); with `gradients`, adds
    /// `scale`·∂log p/∂θ to the parameters' gradients (same layout as the parameters). `scratch`
    /// holds K floats.
    public func logDensity(_ z: UnsafePointer<Float>, parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                           dz: UnsafeMutablePointer<Float>? = nil, gradients: UnsafeMutablePointer<Float>? = nil,
                           scale: Float = 1) -> Float {
        let (K, D) = (components, dimension)
        let means = parameters, logScales = parameters + K * D, logits = parameters + 2 * K * D
        let halfLogTwoPi = Float(0.5 * log(2 * Double.pi))
        // Component k's log πₖ + log N(z; mₖ, σₖ) into scratch[k], with log-sum-exp over k.
        var logitMax = -Float.infinity
        for k in 0..<K { logitMax = max(logitMax, logits[k]) }
        var logitSum: Float = 0
        for k in 0..<K { logitSum += expf(logits[k] - logitMax) }
        let logNormalizer = logitMax + logf(logitSum)
        var best = -Float.infinity
        for k in 0..<K {
            var s: Float = logits[k] - logNormalizer
            for j in 0..<D {
                let d = (z[j] - means[k * D + j]) * expf(-logScales[k * D + j])
                s -= 0.5 * d * d + logScales[k * D + j] + halfLogTwoPi
            }
            scratch[k] = s
            best = max(best, s)
        }
        var total: Float = 0
        for k in 0..<K { total += expf(scratch[k] - best) }
        let logP = best + logf(total)
        guard dz != nil || gradients != nil else { return logP }
        // Responsibilities rₖ = p(k | z): ∂log p/∂z = Σₖ rₖ (mₖ − z)/σₖ², ∂/∂mₖ = rₖ (z − mₖ)/σₖ²,
        // ∂/∂sₖ = rₖ (dₖ² − 1) with dₖ = (z − mₖ)/σₖ, ∂/∂wₖ = rₖ − πₖ.
        if let dz { dz.update(repeating: 0, count: D) }
        for k in 0..<K {
            let r = expf(scratch[k] - logP)
            for j in 0..<D {
                let inverseVariance = expf(-2 * logScales[k * D + j])
                let diff = z[j] - means[k * D + j]
                dz?[j] -= r * diff * inverseVariance
                if let gradients {
                    gradients[k * D + j] += scale * r * diff * inverseVariance
                    gradients[K * D + k * D + j] += scale * r * (diff * diff * inverseVariance - 1)
                }
            }
            if let gradients { gradients[2 * K * D + k] += scale * (r - expf(logits[k] - logNormalizer)) }
        }
        return logP
    }
}
