// MixtureDensity: a learned mixture prior's log-density written out in Double, for checking the code under test.
import Foundation

/// log Σₖ softmax(w)ₖ Πⱼ N(zⱼ; mₖⱼ, e^{2sₖⱼ}) with the parameters laid out as MixturePrior's
/// (means K·D, log_scales K·D, logits K), summed directly (no log-sum-exp).
public func directMixtureLogDensity(_ z: [Double], _ p: [Double], components K: Int, dimension D: Int) -> Double {
    let logits = Array(p[(2 * K * D)...])
    let softmaxTotal = logits.reduce(0) { $0 + exp($1) }
    var density = 0.0
    for k in 0..<K {
        var product = exp(logits[k]) / softmaxTotal
        for j in 0..<D {
            let mean = p[k * D + j], sigma = exp(p[K * D + k * D + j])
            let d = (z[j] - mean) / sigma
            product *= exp(-0.5 * d * d) / (sigma * (2 * Double.pi).squareRoot())
        }
        density += product
    }
    return log(density)
}
