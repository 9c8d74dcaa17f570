// The learned mixture prior: its log-density against a direct Double sum, a density that integrates to 1, its gradients against finite differences.
import Foundation
import Testing
import TestSupport
@testable import VAECore

@Suite struct MixturePriorTests {
    static func directLogDensity(_ z: [Double], _ p: [Double], components K: Int, dimension D: Int) -> Double {
        directMixtureLogDensity(z, p, components: K, dimension: D)
    }

    static func randomParameters(components K: Int, dimension D: Int, _ rng: inout TestRandom) -> [Float] {
        rng.floats(K * D, -1.5, 1.5) + rng.floats(K * D, -0.7, 0.5) + rng.floats(K, -1, 1)
    }

    func logDensity(_ prior: MixturePrior, _ z: [Float], _ p: [Float], dz: Bool = false,
                    gradients: Bool = false, scale: Float = 1) -> (value: Float, dz: [Float], gradients: [Float]) {
        let zb = Buffer(z), pb = Buffer(p), scratch = Buffer(count: prior.components)
        let dzb = Buffer(count: prior.dimension), gb = Buffer(count: p.count)
        let value = prior.logDensity(zb.pointer, parameters: pb.pointer, scratch: scratch.pointer,
                                     dz: dz ? dzb.pointer : nil, gradients: gradients ? gb.pointer : nil, scale: scale)
        withExtendedLifetime((zb, pb, scratch)) {}
        return (value, dzb.array, gb.array)
    }

    @Test func logDensityMatchesTheDirectSum() {
        var rng = TestRandom(5)
        for (K, D) in [(1, 1), (3, 2), (8, 5), (32, 16)] {
            let prior = MixturePrior(components: K, dimension: D)
            let p = Self.randomParameters(components: K, dimension: D, &rng)
            #expect(p.count == prior.parameterCount && prior.parameters.map(\.count).reduce(0, +) == p.count)
            for _ in 0..<5 {
                let z = rng.floats(D, -2.5, 2.5)
                let exact = Self.directLogDensity(z.map(Double.init), p.map(Double.init), components: K, dimension: D)
                #expect(isClose(Double(logDensity(prior, z, p).value), exact, relative: 1e-5, absolute: 1e-4), "K \(K) D \(D)")
            }
        }
    }

    /// Far from every component (z = 40 with unit scales) the direct sum underflows; the
    /// log-sum-exp stays finite and exact: log N(40; 0, 1) = −800 − ½ log 2π.
    @Test func farTailsStayFinite() {
        let prior = MixturePrior(components: 2, dimension: 1)
        let value = logDensity(prior, [40], [0, 0, 0, 0, 0, 0]).value
        #expect(isClose(Double(value), -800 - 0.5 * log(2 * Double.pi), relative: 1e-6))
    }

    /// In one dimension the density integrates to 1 (a sum over a fine grid wide enough for every component).
    @Test func densityIntegratesToOne() {
        var rng = TestRandom(6)
        let prior = MixturePrior(components: 4, dimension: 1)
        let p = Self.randomParameters(components: 4, dimension: 1, &rng)
        let h: Float = 0.001
        var total = 0.0
        for i in -12_000...12_000 { total += exp(Double(logDensity(prior, [Float(i) * h], p).value)) * Double(h) }
        #expect(abs(total - 1) < 1e-4, "∫ p = \(total)")
    }

    /// ∂log p/∂z and scale·∂log p/∂θ against central differences of the direct Double sum.
    @Test func gradientsMatchFiniteDifferences() {
        var rng = TestRandom(7)
        let (K, D) = (5, 3)
        let prior = MixturePrior(components: K, dimension: D)
        let scale: Float = -0.75
        for _ in 0..<4 {
            let p = Self.randomParameters(components: K, dimension: D, &rng), z = rng.floats(D, -2, 2)
            let result = logDensity(prior, z, p, dz: true, gradients: true, scale: scale)
            let zd = z.map(Double.init), pd = p.map(Double.init), h = 1e-5
            for j in 0..<D {
                var plus = zd, minus = zd
                plus[j] += h; minus[j] -= h
                let numeric = (Self.directLogDensity(plus, pd, components: K, dimension: D)
                               - Self.directLogDensity(minus, pd, components: K, dimension: D)) / (2 * h)
                #expect(isClose(Double(result.dz[j]), numeric, relative: 1e-3, absolute: 1e-4), "dz[\(j)]")
            }
            for i in p.indices {
                var plus = pd, minus = pd
                plus[i] += h; minus[i] -= h
                let numeric = (Self.directLogDensity(zd, plus, components: K, dimension: D)
                               - Self.directLogDensity(zd, minus, components: K, dimension: D)) / (2 * h)
                #expect(isClose(Double(result.gradients[i]), Double(scale) * numeric, relative: 1e-3, absolute: 1e-4),
                        "parameter \(i): \(result.gradients[i]) vs \(Double(scale) * numeric)")
            }
        }
    }

    /// The gradients are added to what the buffer holds, as every layer's are.
    @Test func parameterGradientsAccumulate() {
        var rng = TestRandom(8)
        let prior = MixturePrior(components: 3, dimension: 2)
        let p = Self.randomParameters(components: 3, dimension: 2, &rng), z = rng.floats(2)
        let once = logDensity(prior, z, p, gradients: true).gradients
        let zb = Buffer(z), pb = Buffer(p), scratch = Buffer(count: 3), gb = Buffer(count: p.count)
        for _ in 0..<2 {
            _ = prior.logDensity(zb.pointer, parameters: pb.pointer, scratch: scratch.pointer, gradients: gb.pointer)
        }
        #expect(zip(gb.array, once).allSatisfy { abs($0 - 2 * $1) <= 1e-6 * max(1, abs($1)) })
    }
}
