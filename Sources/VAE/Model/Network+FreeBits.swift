// Network+FreeBits: the KL term with free bits (Kingma et al. 2016, "IAF"): each latent dimension's KL,
// averaged over the batch, counts as at least λ nats, and gets no gradient while below the floor.
import Foundation
import VAECore

extension Network {
    /// Adds Σ_b KL(q(z_j | x_b) ‖ N(0, 1)) over this shard's images to `sums[j]`, for every latent
    /// dimension j: the same terms as the KL of evaluateLoss, kept per dimension.
    func addKLPerDimension(batch: Int, in ws: Workspace, into sums: UnsafeMutablePointer<Double>) {
        let L = config.latent, mean = ws.mean.pointer, logVariance = ws.logVariance.pointer
        for b in 0..<batch {
            for j in 0..<L {
                let m = mean[b * L + j], lv = logVariance[b * L + j]
                sums[j] += 0.5 * Double(m * m + expf(lv) - 1 - lv)
            }
        }
    }

    /// Removes the KL's gradient, which evaluateLoss left in ws.meanGrad and ws.logVarianceGrad
    /// (before backward adds the reconstruction's), from the dimensions whose floor is active.
    func dropKLGradient(floored: [Bool], batch: Int, in ws: Workspace) {
        let L = config.latent, dMean = ws.meanGrad.pointer, dLogVariance = ws.logVarianceGrad.pointer
        for j in 0..<L where floored[j] {
            for b in 0..<batch {
                dMean[b * L + j] = 0
                dLogVariance[b * L + j] = 0
            }
        }
    }
}

/// The free-bits KL term of a batch: Σ_j max(λ, KL_j), KL_j the batch mean of dimension j's KL,
/// and which dimensions sit on the floor (KL_j < λ: their gradient is zero).
public func freeBitsKL(meanPerDimension: [Double], floor lambda: Double) -> (kl: Double, floored: [Bool]) {
    let floored = meanPerDimension.map { $0 < lambda }
    return (meanPerDimension.reduce(0) { $0 + Swift.max(lambda, $1) }, floored)
}
