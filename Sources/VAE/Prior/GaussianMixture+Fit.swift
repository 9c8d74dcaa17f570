// GaussianMixture+Fit: maximum a posteriori EM for a mixture, started from k-means++ centres drawn from the seed.
import Foundation
import VAECore

extension GaussianMixture {
    public enum Covariance: String, Sendable, CaseIterable { case full, diagonal }

    public struct FitOptions: Sendable {
        public var components: Int
        public var covariance: Covariance = .full
        /// ρ of the regulariser: each Σₖ is (Σᵢ rᵢₖ(xᵢ − μₖ)(xᵢ − μₖ)ᵀ + ρI) / Nₖ, the maximum a
        /// posteriori estimate under a prior ∝ exp(−½ρ tr Σₖ⁻¹). Like sklearn's reg_covar it keeps
        /// Σₖ invertible when a component's points span fewer than D dimensions (a latent unit
        /// the encoder does not use has nearly constant means); unlike a constant added to the
        /// diagonal it is a prior, so EM still never lowers its objective.
        public var regularization: Double = 0.1
        public var maxIterations = 100
        /// EM stops when an iteration raises the objective by less than this, in nats per point.
        public var tolerance = 1e-4
        public var seed: UInt64 = 0

        public init(components: Int, covariance: Covariance = .full, seed: UInt64 = 0) {
            (self.components, self.covariance, self.seed) = (components, covariance, seed)
        }
    }

    /// A fitted mixture and the objective after each E-step (mean log-likelihood per point plus
    /// the regulariser's log-prior over the points, the quantity EM never lowers).
    public struct Fit: Sendable {
        public var mixture: GaussianMixture
        public var objectives: [Double]
    }

    /// Fits a mixture to `count` points (row-major count×D). Components that lose all their
    /// points are dropped, so the result may have fewer than asked.
    public static func fit(_ x: [Double], count N: Int, dimension D: Int, options o: FitOptions, threads: Int = 1) -> Fit {
        precondition(N >= 1 && D >= 1 && o.components >= 1)
        // Start: k-means++ centres, each point given wholly to its nearest one, then an M-step.
        let centres = kMeansPlusPlus(x, count: N, dimension: D, centres: Swift.min(o.components, N), seed: o.seed)
        let K = centres.count / D
        var r = [Double](repeating: 0, count: N * K)
        for i in 0..<N {
            var best = 0, bestDistance = Double.infinity
            for k in 0..<K {
                var d = 0.0
                for j in 0..<D { let v = x[i * D + j] - centres[k * D + j]; d += v * v }
                if d < bestDistance { (best, bestDistance) = (k, d) }
            }
            r[i * K + best] = 1
        }
        var mixture = maximisation(x, count: N, dimension: D, responsibilities: r, components: K, options: o)
        var objectives: [Double] = []
        for iteration in 0...o.maxIterations {
            let (table, traces) = mixture.componentLogDensities(x, count: N, threads: threads)
            let k = mixture.components
            var total = 0.0
            r = [Double](repeating: 0, count: N * k)
            for i in 0..<N {
                let row = table[(i * k)..<((i + 1) * k)], lse = logSumExp(row)
                total += lse
                for c in 0..<k { r[i * k + c] = exp(table[i * k + c] - lse) }
            }
            let objective = (total - 0.5 * o.regularization * traces.reduce(0, +)) / Double(N)
            objectives.append(objective)
            if iteration == o.maxIterations { break }
            if objectives.count >= 2, objective - objectives[objectives.count - 2] < o.tolerance { break }
            mixture = maximisation(x, count: N, dimension: D, responsibilities: r, components: k, options: o)
        }
        return Fit(mixture: mixture, objectives: objectives)
    }

    /// The M-step: πₖ = Nₖ/N, μₖ = Σᵢ rᵢₖxᵢ/Nₖ, Σₖ as in FitOptions.regularization.
    static func maximisation(_ x: [Double], count N: Int, dimension D: Int, responsibilities r: [Double], components K: Int,
                             options o: FitOptions) -> GaussianMixture {
        var weights: [Double] = [], means: [Double] = [], factors: [Double] = []
        var centred = [Double](repeating: 0, count: o.covariance == .full ? N * D : 0), scatter = [Double](repeating: 0, count: D * D)
        for k in 0..<K {
            var nk = 0.0
            for i in 0..<N { nk += r[i * K + k] }
            // A component with (almost) no points has no mean to estimate: it goes.
            guard nk > 1e-8 * Double(N) else { continue }
            var mean = [Double](repeating: 0, count: D)
            for i in 0..<N where r[i * K + k] > 0 { for j in 0..<D { mean[j] += r[i * K + k] * x[i * D + j] } }
            for j in 0..<D { mean[j] /= nk }
            if o.covariance == .diagonal {
                // Only the variances: D operations a point, not D².
                for j in 0..<(D * D) { scatter[j] = 0 }
                for i in 0..<N where r[i * K + k] > 0 {
                    for j in 0..<D { let v = x[i * D + j] - mean[j]; scatter[j * D + j] += r[i * K + k] * v * v }
                }
            } else {
                for i in 0..<N {
                    let w = r[i * K + k].squareRoot()
                    for j in 0..<D { centred[i * D + j] = w * (x[i * D + j] - mean[j]) }
                }
                centred.withUnsafeBufferPointer { c in
                    scatter.withUnsafeMutableBufferPointer {
                        gemm(transA: true, m: D, n: D, k: N, a: c.baseAddress!, b: c.baseAddress!, c: $0.baseAddress!)
                    }
                }
            }
            var sigma = [Double](repeating: 0, count: D * D)
            for i in 0..<D {
                for j in 0..<D where j == i || o.covariance == .full { sigma[i * D + j] = scatter[i * D + j] / nk }
                sigma[i * D + i] += o.regularization / nk
            }
            guard let l = Cholesky.factor(sigma, n: D) else { continue }
            weights.append(nk / Double(N))
            means += mean
            factors += l
        }
        if weights.isEmpty { return .standard(dimension: D) }
        let total = weights.reduce(0, +)
        return GaussianMixture(dimension: D, weights: weights.map { $0 / total }, means: means, factors: factors)
    }

    /// k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre a uniformly drawn point,
    /// each next one a point drawn with probability ∝ its squared distance to the nearest centre.
    static func kMeansPlusPlus(_ x: [Double], count N: Int, dimension D: Int, centres K: Int, seed: UInt64) -> [Double] {
        var stream = RandomStream(seed: seed, purpose: .prior, detail: UInt64(K))
        var chosen = [stream.integer(below: N)]
        var nearest = [Double](repeating: .infinity, count: N)
        while chosen.count < K {
            let c = chosen.last!
            for i in 0..<N {
                var d = 0.0
                for j in 0..<D { let v = x[i * D + j] - x[c * D + j]; d += v * v }
                nearest[i] = Swift.min(nearest[i], d)
            }
            let total = nearest.reduce(0, +)
            guard total > 0 else { break }    // every point is already a centre
            let target = Double(stream.uniform()) * total
            var cumulative = 0.0, pick = N - 1
            for i in 0..<N {
                cumulative += nearest[i]
                if cumulative > target { pick = i; break }
            }
            chosen.append(pick)
        }
        return chosen.flatMap { c in x[(c * D)..<((c + 1) * D)] }
    }
}
