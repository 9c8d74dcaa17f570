// The prior's Gaussian mixture: its log-density against explicit inverses and determinants, EM, and the choice of its size.
import Foundation
import Testing
import TestSupport
@testable import VAE

/// Normal numbers for test data (Box–Muller on TestRandom), independent of the code under test.
struct TestNormals {
    var random: TestRandom
    init(_ seed: UInt64) { random = TestRandom(seed) }
    mutating func next() -> Double {
        let u1 = (Double(random.next() >> 11) + 1) / 9007199254740992, u2 = Double(random.next() >> 11) / 9007199254740992
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

/// Points from Σₖ πₖ N(μₖ, LₖLₖᵀ), `count` × D, components picked in turn by weight.
func mixtureData(_ m: GaussianMixture, count: Int, seed: UInt64) -> [Double] {
    var normals = TestNormals(seed), random = TestRandom(seed ^ 0xABCD)
    let D = m.dimension
    var out: [Double] = []
    for _ in 0..<count {
        let u = Double(random.next() >> 11) / 9007199254740992
        var k = 0, c = m.weights[0]
        while u >= c && k < m.components - 1 { k += 1; c += m.weights[k] }
        let e = (0..<D).map { _ in normals.next() }
        for r in 0..<D {
            out.append(m.means[k * D + r] + (0...r).reduce(0.0) { $0 + m.factors[k * D * D + r * D + $1] * e[$1] })
        }
    }
    return out
}

/// log p(x) computed the long way: Σ = LLᵀ formed, its determinant by cofactor expansion and its
/// inverse as adjugate / determinant, the densities summed, then the log.
func naiveLogDensity(_ m: GaussianMixture, _ x: [Double]) -> Double {
    let D = m.dimension
    func minor(_ a: [[Double]], _ row: Int, _ col: Int) -> [[Double]] {
        a.enumerated().filter { $0.offset != row }.map { $0.element.enumerated().filter { $0.offset != col }.map(\.element) }
    }
    func det(_ a: [[Double]]) -> Double {
        a.count == 1 ? a[0][0] : (0..<a.count).reduce(0.0) { $0 + (($1 % 2 == 0) ? 1 : -1) * a[0][$1] * det(minor(a, 0, $1)) }
    }
    var p = 0.0
    for k in 0..<m.components {
        let l = (0..<D).map { r in (0..<D).map { c in m.factors[k * D * D + r * D + c] } }
        let sigma = (0..<D).map { r in (0..<D).map { c in (0..<D).reduce(0.0) { $0 + l[r][$1] * l[c][$1] } } }
        let d = det(sigma)
        let inverse = (0..<D).map { r in (0..<D).map { c in
            (D == 1 ? 1 : (((r + c) % 2 == 0) ? 1 : -1) * det(minor(sigma, c, r))) / d } }
        let diff = (0..<D).map { x[$0] - m.means[k * D + $0] }
        let q = (0..<D).reduce(0.0) { s, r in s + diff[r] * (0..<D).reduce(0.0) { $0 + inverse[r][$1] * diff[$1] } }
        p += m.weights[k] * exp(-0.5 * q) / ((pow(2 * Double.pi, Double(D)) * d).squareRoot())
    }
    return log(p)
}

/// A mixture with random means and factors (positive diagonals), `K` components over D dimensions.
func randomMixture(components K: Int, dimension D: Int, seed: UInt64, spread: Double = 3) -> GaussianMixture {
    var r = TestRandom(seed)
    let raw = (0..<K).map { _ in Double(r.float(0.2, 1)) }
    var factors = [Double](repeating: 0, count: K * D * D)
    for k in 0..<K { for i in 0..<D { for j in 0...i {
        factors[k * D * D + i * D + j] = i == j ? Double(r.float(0.3, 1.2)) : Double(r.float(-0.5, 0.5))
    } } }
    return GaussianMixture(dimension: D, weights: raw.map { $0 / raw.reduce(0, +) },
                           means: (0..<(K * D)).map { _ in spread * Double(r.float()) }, factors: factors)
}

@Suite struct GaussianMixtureTests {
    @Test(arguments: [(1, 1), (2, 3), (3, 4)]) func logDensityMatchesExplicitInverseAndDeterminant(K: Int, D: Int) {
        let m = randomMixture(components: K, dimension: D, seed: UInt64(10 * K + D))
        #expect(m.problem == nil)
        var r = TestRandom(99)
        let x = (0..<(7 * D)).map { _ in Double(r.float(-4, 4)) }
        let fast = m.logDensities(x, count: 7, threads: 2)
        for i in 0..<7 {
            assertClose(fast[i], naiveLogDensity(m, Array(x[(i * D)..<((i + 1) * D)])), relative: 1e-10, absolute: 1e-10, "point \(i)")
        }
        // N(0, I): −½‖z‖² − ½D log 2π.
        let standard = GaussianMixture.standard(dimension: D).logDensities(x, count: 7)
        for i in 0..<7 {
            let z = x[(i * D)..<((i + 1) * D)]
            assertClose(standard[i], -0.5 * z.reduce(0) { $0 + $1 * $1 } - 0.5 * Double(D) * log(2 * Double.pi), relative: 1e-12)
        }
    }

    @Test func choleskyFactorsAndInverts() throws {
        let a: [Double] = [4, 2, 0.4, 2, 5, 1, 0.4, 1, 3]
        let l = try #require(Cholesky.factor(a, n: 3))
        for i in 0..<3 { for j in 0..<3 {
            assertClose((0..<3).reduce(0.0) { $0 + l[i * 3 + $1] * l[j * 3 + $1] }, a[i * 3 + j], relative: 1e-12, absolute: 1e-12)
        } }
        let inv = l.withUnsafeBufferPointer { Cholesky.invertLower($0.baseAddress!, n: 3) }
        for i in 0..<3 { for j in 0..<3 {
            assertClose((0..<3).reduce(0.0) { $0 + l[i * 3 + $1] * inv[$1 * 3 + j] }, i == j ? 1 : 0, relative: 1e-12, absolute: 1e-12)
        } }
        #expect(Cholesky.factor([1, 2, 2, 1], n: 2) == nil, "not positive definite")
    }

    /// Three well-separated components in 2-D: EM finds their weights, means and covariances.
    @Test func emRecoversAKnownMixture() {
        let truth = GaussianMixture(dimension: 2, weights: [0.5, 0.3, 0.2], means: [0, 0, 8, 1, -3, 7],
                                    factors: [1, 0, 0.5, 0.8, 0.6, 0, -0.3, 1.2, 1.5, 0, 0, 0.4])
        let N = 4000
        let x = mixtureData(truth, count: N, seed: 1)
        let fit = GaussianMixture.fit(x, count: N, dimension: 2, options: .init(components: 3, seed: 7)).mixture
        #expect(fit.components == 3)
        for k in 0..<3 {
            // The fitted component nearest to each true one.
            func distance(_ c: Int) -> Double {
                let dx: Double = fit.means[2 * c] - truth.means[2 * k], dy: Double = fit.means[2 * c + 1] - truth.means[2 * k + 1]
                return (dx * dx + dy * dy).squareRoot()
            }
            let j = (0..<3).min { distance($0) < distance($1) }!
            #expect(abs(fit.weights[j] - truth.weights[k]) < 0.03, "weight \(k)")
            for d in 0..<2 { #expect(abs(fit.means[2 * j + d] - truth.means[2 * k + d]) < 0.12, "mean \(k)") }
            func sigma(_ m: GaussianMixture, _ c: Int) -> [Double] {
                let f = Array(m.factors[(4 * c)..<(4 * c + 4)])
                return [f[0] * f[0], f[0] * f[2], f[2] * f[2] + f[3] * f[3]]
            }
            for (a, b) in zip(sigma(fit, j), sigma(truth, k)) {
                let allowed: Double = 0.12 * Swift.max(1, abs(b))
                #expect(abs(a - b) < allowed, "covariance \(k): \(a) vs \(b)")
            }
        }
    }

    /// EM's objective (mean log-likelihood plus the regulariser's log-prior) never goes down,
    /// on overlapping components where it takes many iterations, for both covariances.
    @Test(arguments: GaussianMixture.Covariance.allCases) func emNeverLowersItsObjective(covariance: GaussianMixture.Covariance) {
        let truth = randomMixture(components: 4, dimension: 3, seed: 5, spread: 1.5)
        let x = mixtureData(truth, count: 600, seed: 2)
        var options = GaussianMixture.FitOptions(components: 5, covariance: covariance, seed: 3)
        options.tolerance = 0
        options.maxIterations = 150
        let fit = GaussianMixture.fit(x, count: 600, dimension: 3, options: options)
        #expect(fit.objectives.count > 20)
        for (a, b) in zip(fit.objectives, fit.objectives.dropFirst()) { #expect(b >= a - 1e-12 * abs(a), "\(a) → \(b)") }
        // The plain log-likelihood ends well above where EM started.
        #expect(fit.mixture.meanLogDensity(x, count: 600) > fit.objectives[0])
    }

    @Test func theHeldOutChoicePicksSeveralComponentsForClustersAndOneForAGaussian() {
        let clusters = GaussianMixture(dimension: 4, weights: [0.25, 0.25, 0.25, 0.25],
                                       means: [0, 0, 0, 0, 6, 0, 0, 0, 0, 6, 0, 0, 0, 0, 6, 6],
                                       factors: (0..<4).flatMap { _ in [0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.5] })
        let multi = PriorFit.choose(train: mixtureData(clusters, count: 800, seed: 3), heldOut: mixtureData(clusters, count: 200, seed: 4),
                                    dimension: 4, seed: 0)
        #expect(multi.mixture.components >= 4, "\(multi.candidates)")
        #expect(multi.heldOutFitted! > multi.heldOutStandard!)
        let gaussian = randomMixture(components: 1, dimension: 4, seed: 8)
        let one = PriorFit.choose(train: mixtureData(gaussian, count: 800, seed: 5), heldOut: mixtureData(gaussian, count: 200, seed: 6),
                                  dimension: 4, seed: 0)
        #expect(one.mixture.components == 1, "\(one.candidates)")
        #expect(one.covariance == .full, "correlated data")
        // Without held-out codes: one component, and no figures.
        let blind = PriorFit.choose(train: mixtureData(gaussian, count: 100, seed: 5), heldOut: [], dimension: 4, seed: 0)
        #expect(blind.mixture.components == 1 && blind.heldOutFitted == nil)
    }

    /// Large sets are cut to the limit by the seed, keeping their order; small ones are kept whole.
    @Test func largeSetsAreSubsampledByTheSeed() {
        let all = Array(stride(from: 0, to: 60_000, by: 3))
        let a = PriorFit.subset(all, dimension: 16, seed: 1, detail: 1)
        #expect(a.count == 10_000 && a == a.sorted() && Set(a).isSubset(of: Set(all)))
        #expect(a == PriorFit.subset(all, dimension: 16, seed: 1, detail: 1))
        #expect(a != PriorFit.subset(all, dimension: 16, seed: 2, detail: 1))
        #expect(a != PriorFit.subset(all, dimension: 16, seed: 1, detail: 2))
        #expect(PriorFit.subset(all, dimension: 128, seed: 1, detail: 1).count == 1024)
        #expect(PriorFit.subset(Array(0..<900), dimension: 128, seed: 1, detail: 1) == Array(0..<900))
    }

    /// Draws follow the mixture (each component's share, mean and spread), the seed fixes them,
    /// and the temperature scales the spread about the component means.
    @Test func samplesFollowTheMixtureAndTheSeed() {
        let m = GaussianMixture(dimension: 2, weights: [0.7, 0.3], means: [-5, 0, 5, 2], factors: [1, 0, 0.5, 0.5, 0.3, 0, 0, 2])
        let n = 20000
        let z = m.sample(count: n, seed: 4)
        #expect(z == m.sample(count: n, seed: 4))
        #expect(z != m.sample(count: n, seed: 5))
        let left = (0..<n).filter { z[2 * $0] < 0 }
        #expect(abs(Double(left.count) / Double(n) - 0.7) < 0.015)
        let meanY = left.reduce(0.0) { $0 + Double(z[2 * $1 + 1]) } / Double(left.count)
        let varY = left.reduce(0.0) { $0 + pow(Double(z[2 * $1 + 1]) - meanY, 2) } / Double(left.count)
        #expect(abs(meanY) < 0.03 && abs(varY - 0.5) < 0.03, "\(meanY) \(varY)")     // 0.5² + 0.5²
        let cold = m.sample(count: n, seed: 4, temperature: 0.5)
        for i in 0..<100 {
            let k = z[2 * i] < 0 ? 0 : 1
            #expect(abs(Double(cold[2 * i]) - m.means[2 * k] - 0.5 * (Double(z[2 * i]) - m.means[2 * k])) < 1e-4)
        }
    }
}
