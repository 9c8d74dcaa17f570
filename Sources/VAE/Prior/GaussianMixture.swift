// GaussianMixture: a mixture of full-covariance Gaussians in Double: its log-density, its soundness, draws from it.
import Foundation
import VAECore

/// Σₖ πₖ N(μₖ, Σₖ) over R^D, with Σₖ = LₖLₖᵀ; Lₖ is lower triangular with a positive diagonal,
/// stored row-major with its upper part zero (a diagonal covariance is an Lₖ that is diagonal).
public struct GaussianMixture: Equatable, Sendable {
    public let dimension: Int
    /// πₖ (K), μₖ (K·D), Lₖ (K·D·D).
    public var weights: [Double]
    public var means: [Double]
    public var factors: [Double]

    public var components: Int { weights.count }

    public init(dimension: Int, weights: [Double], means: [Double], factors: [Double]) {
        (self.dimension, self.weights, self.means, self.factors) = (dimension, weights, means, factors)
    }

    /// N(0, I), the VAE's own prior, as a mixture of one.
    public static func standard(dimension: Int) -> GaussianMixture {
        var identity = [Double](repeating: 0, count: dimension * dimension)
        for i in 0..<dimension { identity[i * dimension + i] = 1 }
        return GaussianMixture(dimension: dimension, weights: [1], means: [Double](repeating: 0, count: dimension),
                               factors: identity)
    }

    /// The first thing that makes this not a distribution (shapes, non-finite values, weights that
    /// are negative or do not sum to 1, a factor that is not lower triangular with a positive
    /// diagonal), or nil.
    public var problem: String? {
        let (K, D) = (components, dimension)
        guard K >= 1, D >= 1, means.count == K * D, factors.count == K * D * D else {
            return "shapes do not agree: \(K) weights, \(means.count) mean values and \(factors.count) factor values for dimension \(D)"
        }
        guard (weights + means + factors).allSatisfy(\.isFinite) else { return "holds NaN or infinite values" }
        guard weights.allSatisfy({ $0 >= 0 }) else { return "a component weight is negative" }
        let total = weights.reduce(0, +)
        guard abs(total - 1) <= 1e-5 else { return "the component weights sum to \(total), not 1" }
        for k in 0..<K {
            for i in 0..<D {
                let row = k * D * D + i * D
                guard factors[row + i] > 0 else { return "component \(k)'s Cholesky factor has a diagonal entry that is not positive" }
                guard factors[(row + i + 1)..<(row + D)].allSatisfy({ $0 == 0 }) else {
                    return "component \(k)'s Cholesky factor is not lower triangular"
                }
            }
        }
        return nil
    }

    /// The same mixture with every number rounded to Float, as the file keeps it.
    public var roundedToFloat: GaussianMixture {
        let r = { (v: [Double]) in v.map { Double(Float($0)) } }
        return GaussianMixture(dimension: dimension, weights: r(weights), means: r(means), factors: r(factors))
    }

    /// log p(xᵢ) of `count` points (row-major count×D).
    public func logDensities(_ x: [Double], count: Int, threads: Int = 1) -> [Double] {
        let table = componentLogDensities(x, count: count, threads: threads).table
        return (0..<count).map { Self.logSumExp(table[($0 * components)..<(($0 + 1) * components)]) }
    }

    /// The mean of log p(xᵢ) over `count` points, in nats.
    public func meanLogDensity(_ x: [Double], count: Int, threads: Int = 1) -> Double {
        logDensities(x, count: count, threads: threads).reduce(0, +) / Double(Swift.max(count, 1))
    }

    /// log πₖ + log N(xᵢ; μₖ, Σₖ) for every point and component (count×K), and Σₖ ‖Lₖ⁻¹‖²_F
    /// (the trace of every Σₖ⁻¹, which the fit's regulariser weighs). Through the whitened
    /// points yᵢ = Lₖ⁻¹(xᵢ − μₖ): log N = −½‖y‖² − Σ log diag Lₖ − ½D log 2π.
    func componentLogDensities(_ x: [Double], count N: Int, threads: Int) -> (table: [Double], traces: [Double]) {
        let (K, D) = (components, dimension)
        var table = [Double](repeating: 0, count: N * K), traces = [Double](repeating: 0, count: K)
        let halfLogTwoPi = 0.5 * Double(D) * log(2 * Double.pi)
        let lanes = Swift.max(1, Swift.min(threads, K))
        let scratch = (0..<lanes).map { _ in UnsafeMutablePointer<Double>.allocate(capacity: 2 * Swift.max(N * D, 1)) }
        defer { scratch.forEach { $0.deallocate() } }
        table.withUnsafeMutableBufferPointer { t in
        traces.withUnsafeMutableBufferPointer { tr in
        x.withUnsafeBufferPointer { x in
        factors.withUnsafeBufferPointer { f in
            let (t, tr, x, f) = (t, tr, x, f)
            Parallel.run(items: lanes, threads: lanes) { lane in
                let centred = scratch[lane], white = scratch[lane] + N * D
                for k in stride(from: lane, to: K, by: lanes) {
                    let inverse = Cholesky.invertLower(f.baseAddress! + k * D * D, n: D)
                    tr[k] = inverse.reduce(0) { $0 + $1 * $1 }
                    var logDet = 0.0
                    for i in 0..<D { logDet += log(f[k * D * D + i * D + i]) }
                    if isDiagonal(k) {
                        // y = (x − μ) / diag L: D operations a point, not D².
                        for i in 0..<N { for j in 0..<D { white[i * D + j] = (x[i * D + j] - means[k * D + j]) * inverse[j * D + j] } }
                    } else {
                        for i in 0..<N { for j in 0..<D { centred[i * D + j] = x[i * D + j] - means[k * D + j] } }
                        // y = (x − μ)·L⁻ᵀ, all points at once.
                        inverse.withUnsafeBufferPointer {
                            gemm(transB: true, m: N, n: D, k: D, a: centred, b: $0.baseAddress!, c: white)
                        }
                    }
                    let constant = log(weights[k]) - logDet - halfLogTwoPi
                    for i in 0..<N {
                        var s = 0.0
                        for j in 0..<D { s += white[i * D + j] * white[i * D + j] }
                        t[i * K + k] = constant - 0.5 * s
                    }
                }
            }
        }}}}
        return (table, traces)
    }

    /// Whether component k's factor (so its covariance) is diagonal.
    func isDiagonal(_ k: Int) -> Bool {
        let D = dimension
        for i in 0..<D { for j in 0..<i where factors[k * D * D + i * D + j] != 0 { return false } }
        return true
    }

    /// log Σ exp(vᵢ), safe from overflow; −∞ for an empty or all −∞ slice.
    static func logSumExp(_ v: ArraySlice<Double>) -> Double {
        guard let top = v.max(), top > -Double.infinity else { return -Double.infinity }
        return top + log(v.reduce(0) { $0 + exp($1 - top) })
    }

    /// `count` draws (count×D, as Floats): a component by its weight, then z = μₖ + T·Lₖε with
    /// ε ~ N(0, I) from the seed's sampling stream (the same normals N(0, T²I) draws use).
    public func sample(count: Int, seed: UInt64, temperature: Double = 1) -> [Float] {
        let D = dimension
        var eps = [Float](repeating: 0, count: count * D)
        eps.withUnsafeMutableBufferPointer { RandomStream(seed: seed, purpose: .sampling).fillNormal($0.baseAddress!, count: $0.count) }
        var picks = RandomStream(seed: seed, purpose: .sampling, detail: 1)
        var z = [Float](repeating: 0, count: count * D)
        for i in 0..<count {
            let k = component(at: Double(picks.uniform()))
            for r in 0..<D {
                var s = 0.0
                for c in 0...r { s += factors[k * D * D + r * D + c] * Double(eps[i * D + c]) }
                z[i * D + r] = Float(means[k * D + r] + temperature * s)
            }
        }
        return z
    }

    /// The component whose share of the cumulative weights holds u ∈ [0, 1).
    func component(at u: Double) -> Int {
        var cumulative = 0.0
        for k in 0..<components {
            cumulative += weights[k]
            if u < cumulative { return k }
        }
        return weights.lastIndex { $0 > 0 } ?? components - 1
    }
}
