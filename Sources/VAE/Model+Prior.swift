// Model+Prior: the model's own p(z), N(0, I) or the mixture learned with it, as a GaussianMixture.
import Foundation
import VAECore

extension Model {
    /// The prior the model was trained with: its learned mixture (`config.priorMixture`, read from
    /// the current weights), or nil for N(0, I).
    public var learnedPrior: GaussianMixture? {
        guard let prior = network.prior else { return nil }
        let (K, D) = (prior.components, prior.dimension)
        let p = params.pointer + network.priorOffset
        let logits = (0..<K).map { Double(p[2 * K * D + $0]) }
        let top = logits.max()!
        let total = logits.reduce(0) { $0 + exp($1 - top) }
        var factors = [Double](repeating: 0, count: K * D * D)
        for k in 0..<K {
            for j in 0..<D { factors[k * D * D + j * D + j] = exp(Double(p[K * D + k * D + j])) }
        }
        return GaussianMixture(dimension: D, weights: logits.map { exp($0 - top) / total },
                               means: (0..<(K * D)).map { Double(p[$0]) }, factors: factors)
    }

    /// The model's own prior as messages name it (ModelConfig.ownPriorName).
    public var ownPriorName: String { config.ownPriorName }
}
