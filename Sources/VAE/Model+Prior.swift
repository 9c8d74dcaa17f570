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
        var factors = [Double](repeating: 0, count: K * D * D)
        for k in 0..<K {
            for j in 0..<D { factors[k * D * D + j * D + j] = exp(Double(p[K * D + k * D + j])) }
        }
        // The weights as training computes them (the softmax of the logits).
        return GaussianMixture(dimension: D, weights: prior.table(p).weights.map(Double.init),
                               means: (0..<(K * D)).map { Double(p[$0]) }, factors: factors)
    }

    /// The model's own prior as messages name it (ModelConfig.ownPriorName).
    public var ownPriorName: String { config.ownPriorName }
}
