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

    /// What log p(z) needs of the parameters for any z, worked out once per batch: 1/σₖⱼ (K·D),
    /// πₖ (K), and log πₖ − Σⱼ log σₖⱼ − (D/2)·log 2π (K).
    public struct Table: Sendable {
        public var inverseScales: [Float], weights: [Float], offsets: [Float]
    }

    public func table(_ parameters: UnsafePointer<Float>) -> Table {
        let (K, D) = (components, dimension)
        let logScales = parameters + K * D, logits = parameters + 2 * K * D
        var logitMax = -Float.infinity
        for k in 0..<K { logitMax = max(logitMax, logits[k]) }
        var logitSum: Float = 0
        for k in 0..<K { logitSum += expf(logits[k] - logitMax) }
        let logNormalizer = logitMax + logf(logitSum), halfLogTwoPi = Float(0.5 * log(2 * Double.pi))
        var table = Table(inverseScales: (0..<(K * D)).map { expf(-logScales[$0]) }, weights: [], offsets: [])
        for k in 0..<K {
            var offset = logits[k] - logNormalizer - Float(D) * halfLogTwoPi
            for j in 0..<D { offset -= logScales[k * D + j] }
            table.weights.append(expf(logits[k] - logNormalizer))
            table.offsets.append(offset)
        }
        return table
    }

    /// log p(z) for one code. With `dz`, writes ∂log p/∂z there (D values); with `gradients`, adds
    /// `scale`·∂log p/∂θ to the parameters' gradients (same layout as the parameters). `scratch`
    /// holds K floats.
    public func logDensity(_ z: UnsafePointer<Float>, parameters: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                           dz: UnsafeMutablePointer<Float>? = nil, gradients: UnsafeMutablePointer<Float>? = nil,
                           scale: Float = 1) -> Float {
        logDensity(z, parameters: parameters, table: table(parameters), scratch: scratch, dz: dz, gradients: gradients, scale: scale)
    }

    /// The same with `table` worked out for these parameters beforehand (once for a batch).
    public func logDensity(_ z: UnsafePointer<Float>, parameters: UnsafePointer<Float>, table: Table,
                           scratch: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>? = nil,
                           gradients: UnsafeMutablePointer<Float>? = nil, scale: Float = 1) -> Float {
        let (K, D) = (components, dimension)
        let means = parameters
        return table.inverseScales.withUnsafeBufferPointer { inverse in
            let inverse = inverse.baseAddress!
            // Component k's log πₖ + log N(z; mₖ, σₖ) into scratch[k], with log-sum-exp over k.
            var best = -Float.infinity
            for k in 0..<K {
                var sum: Float = 0
                for j in 0..<D {
                    let d = (z[j] - means[k * D + j]) * inverse[k * D + j]
                    sum += d * d
                }
                scratch[k] = table.offsets[k] - 0.5 * sum
                best = max(best, scratch[k])
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
                    let inverseVariance = inverse[k * D + j] * inverse[k * D + j]
                    let diff = z[j] - means[k * D + j]
                    dz?[j] -= r * diff * inverseVariance
                    if let gradients {
                        gradients[k * D + j] += scale * r * diff * inverseVariance
                        gradients[K * D + k * D + j] += scale * r * (diff * diff * inverseVariance - 1)
                    }
                }
                if let gradients { gradients[2 * K * D + k] += scale * (r - table.weights[k]) }
            }
            return logP
        }
    }
}
