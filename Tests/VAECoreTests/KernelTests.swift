// Tests of GEMM, Linear, ReLU, the losses, the reparameterization and Adam against independent computations.
import Foundation
import Testing
import TestSupport
@testable import VAECore

@Suite struct KernelTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesDirectLoops(_ trans: (Bool, Bool)) {
        var rng = TestRandom(7)
        let (m, n, k) = (7, 13, 29)
        let a = rng.floats(m * k), b = rng.floats(k * n), c0 = rng.floats(m * n)
        // A is stored (k, m) when transposed, B (n, k).
        func A(_ i: Int, _ p: Int) -> Double { Double(trans.0 ? a[p * m + i] : a[i * k + p]) }
        func B(_ p: Int, _ j: Int) -> Double { Double(trans.1 ? b[j * k + p] : b[p * n + j]) }
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += A(i, p) * B(p, j) }
            expected[i * n + j] = Float(0.5 * s + 2 * Double(c0[i * n + j]))
        } }
        let (_, out) = withBuffers([a, b, c0]) { p in
            gemm(transA: trans.0, transB: trans.1, m: m, n: n, k: k, alpha: 0.5, a: p[0], b: p[1], beta: 2, c: p[2])
        }
        assertClose(out[2], expected, relative: 1e-5, absolute: 1e-5)
    }

    @Test func linearForwardAndGradients() {
        var rng = TestRandom(8)
        let layer = Linear(inFeatures: 5, outFeatures: 3), batch = 4
        let x = rng.floats(batch * 5), w = rng.floats(15), b = rng.floats(3), r = rng.floats(batch * 3)
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            withBuffers([x, w, b, [Float](repeating: 0, count: batch * 3)]) { p in
                layer.forward(x: p[0], batch: batch, weight: p[1], bias: p[2], y: p[3], profiler: Profiler())
            }.1[3]
        }
        var expected = [Float](repeating: 0, count: batch * 3)
        for i in 0..<batch { for o in 0..<3 {
            expected[i * 3 + o] = b[o] + (0..<5).reduce(0) { $0 + x[i * 5 + $1] * w[o * 5 + $1] }
        } }
        assertClose(forward(x, w, b), expected, relative: 1e-5, absolute: 1e-6)
        let g = withBuffers([x, w, r, [Float](repeating: 0, count: 15), [Float](repeating: 0, count: 3),
                             [Float](repeating: 0, count: batch * 5)]) { p in
            layer.backward(dy: p[2], x: p[0], batch: batch, weight: p[1], dWeight: p[3], dBias: p[4], dx: p[5],
                           profiler: Profiler())
        }.1
        checkFiniteDifferences(x, analytic: g[5], "dX") { dot(forward($0, w, b), r) }
        checkFiniteDifferences(w, analytic: g[3], "dW") { dot(forward(x, $0, b), r) }
        checkFiniteDifferences(b, analytic: g[4], "db") { dot(forward(x, w, $0), r) }
    }

    @Test func reluPassesPositivesAndMasksGradients() {
        let (_, out) = withBuffers([[-2, 0, 3, -0.5, 7], [1, 1, 1, 1, 1]]) { p in
            reluForward(p[0], count: 5)
            reluBackward(p[1], output: p[0], count: 5)
        }
        #expect(out[0] == [0, 0, 3, 0, 7])
        #expect(out[1] == [0, 0, 1, 0, 1])
        // 16-lane blocks and a tail: the mask, and the masked sum, against the definition.
        var rng = TestRandom(30)
        let y = rng.floats(37).map { max($0, 0) }, g = rng.floats(37)
        let masked = zip(g, y).map { $1 > 0 ? $0 : 0 }
        let (_, a) = withBuffers([y, g]) { p in reluBackward(p[1], output: p[0], count: 37) }
        #expect(a[1] == masked)
        let (sum, b) = withBuffers([y, g]) { p in reluBackwardSum(p[1], output: p[0], count: 37) }
        #expect(b[1] == masked)
        assertClose(Double(sum), masked.reduce(0.0) { $0 + Double($1) }, relative: 1e-5, absolute: 1e-6)
    }

    @Test func bernoulliNLLIsStableAndMatchesTheDefinition() {
        let logits: [Float] = [-120, -3, -0.5, 0, 0.25, 2, 90]
        let targets: [Float] = [0, 1, 0.3, 0.5, 1, 0, 1]
        var expected = 0.0
        for (l, t) in zip(logits, targets) {
            let l = Double(l), t = Double(t)
            // −[t·log σ(l) + (1 − t)·log(1 − σ(l))], with log σ(l) = −log(1 + e^−l) written stably.
            let logSig = -(max(-l, 0) + log(exp(-abs(l)) + 1)), log1mSig = -(max(l, 0) + log(exp(-abs(l)) + 1))
            expected -= t * logSig + (1 - t) * log1mSig
        }
        let (value, grads) = withBuffers([logits, targets, [Float](repeating: 0, count: 7)]) { p in
            bernoulliNLL(logits: p[0], targets: p[1], count: 7, grad: p[2], scale: 1)
        }
        #expect(value.isFinite)
        assertClose(value, expected, relative: 1e-6, absolute: 1e-5)
        let sigmoid = logits.map { 1 / (1 + exp(-Double($0))) }
        assertClose(grads[2], zip(sigmoid, targets).map { Float($0 - Double($1)) }, relative: 1e-5, absolute: 1e-6)
    }

    /// The polynomial exp and log1p behind the BCE against Foundation's, over their whole ranges.
    @Test func fastExpAndLog1pAreAccurate() {
        var worstExp = 0.0, worstLog = 0.0
        for i in 0...20_000 {
            let x = -Float(i) * 0.004      // 0 … −80
            let e = Double(expOfNonPositive(x)), reference = exp(Double(x))
            worstExp = max(worstExp, abs(e - reference) / reference)
            let u = Float(i) / 20_000      // 0 … 1
            let l = Double(log1pOfUnit(u)), refLog = log1p(Double(u))
            if refLog > 0 { worstLog = max(worstLog, abs(l - refLog) / refLog) }
        }
        #expect(worstExp < 1e-6, "exp relative error \(worstExp)")
        #expect(worstLog < 1e-6, "log1p relative error \(worstLog)")
        #expect(expOfNonPositive(-1000) < 1e-37)
    }

    @Test func bernoulliNLLOverManyBlocksMatchesDoubleArithmetic() {
        var rng = TestRandom(31)
        let n = 1000
        let logits = rng.floats(n, -30, 30), targets = rng.floats(n, 0, 1)
        var expected = 0.0
        var expectedGrad = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let l = Double(logits[i]), t = Double(targets[i])
            expected += max(l, 0) - l * t + log1p(exp(-abs(l)))
            expectedGrad[i] = Float(0.5 * (1 / (1 + exp(-l)) - t))
        }
        let (withGrad, out) = withBuffers([logits, targets, [Float](repeating: 0, count: n)]) { p in
            bernoulliNLL(logits: p[0], targets: p[1], count: n, grad: p[2], scale: 0.5)
        }
        let (without, _) = withBuffers([logits, targets]) { p in bernoulliNLL(logits: p[0], targets: p[1], count: n) }
        assertClose(withGrad, expected, relative: 1e-6)
        assertClose(without, expected, relative: 1e-6)
        assertClose(out[2], expectedGrad, relative: 1e-5, absolute: 1e-7)
    }

    @Test func gaussianNLLAndItsGradients() {
        var rng = TestRandom(9)
        let means = rng.floats(6, 0, 1), targets = rng.floats(6, 0, 1)
        let logScale: Float = -1.3, sigma = exp(Double(logScale))
        var expected = 0.0
        for (m, t) in zip(means, targets) {
            expected += 0.5 * pow((Double(t) - Double(m)) / sigma, 2) + log(sigma) + 0.5 * log(2 * Double.pi)
        }
        var dLogScale = 0.0
        let (value, out) = withBuffers([means, targets, [Float](repeating: 0, count: 6)]) { p in
            gaussianNLL(means: p[0], targets: p[1], count: 6, logScale: logScale, grad: p[2], scale: 1,
                        dLogScale: &dLogScale)
        }
        assertClose(value, expected, relative: 1e-6)
        func f(_ m: [Float], _ ls: Float) -> Double {
            withBuffers([m, targets]) { p in gaussianNLL(means: p[0], targets: p[1], count: 6, logScale: ls) }.0
        }
        checkFiniteDifferences(means, analytic: out[2], step: 1e-3, "dmean") { f($0, logScale) }
        let numeric = (f(means, logScale + 1e-3) - f(means, logScale - 1e-3)) / 2e-3
        assertClose(dLogScale, numeric, relative: 1e-3, absolute: 1e-3, "dlogscale")
    }

    @Test func klAndReparameterizationGradients() {
        var rng = TestRandom(10)
        let n = 6
        let mean = rng.floats(n), logVar = rng.floats(n), eps = rng.floats(n), r = rng.floats(n)
        // f = KL(mean, logVar) + ⟨z(mean, logVar), r⟩, everything the encoder heads receive.
        func f(_ m: [Float], _ lv: [Float]) -> Double {
            withBuffers([m, lv, eps, [Float](repeating: 0, count: n)]) { p in
                reparameterize(mean: p[0], logVariance: p[1], eps: p[2], z: p[3], count: n)
                let kl = klStandardNormal(mean: p[0], logVariance: p[1], count: n)
                return kl + (0..<n).reduce(0.0) { $0 + Double(p[3][$1]) * Double(r[$1]) }
            }.0
        }
        var closed = 0.0
        for j in 0..<n {   // KL of N(μ, σ²) to N(0, 1) = log(1/σ) + (σ² + μ²)/2 − 1/2
            let s2 = exp(Double(logVar[j]))
            closed += -0.5 * Double(logVar[j]) + (s2 + Double(mean[j] * mean[j])) / 2 - 0.5
        }
        let klValue = withBuffers([mean, logVar]) { p in klStandardNormal(mean: p[0], logVariance: p[1], count: n) }.0
        assertClose(klValue, closed, relative: 1e-6)
        let (_, g) = withBuffers([mean, logVar, eps, r, [Float](repeating: 0, count: n), [Float](repeating: 0, count: n)]) { p in
            _ = klStandardNormal(mean: p[0], logVariance: p[1], count: n, dMean: p[4], dLogVariance: p[5])
            reparameterizeBackward(dz: p[3], logVariance: p[1], eps: p[2], dMean: p[4], dLogVariance: p[5], count: n)
        }
        checkFiniteDifferences(mean, analytic: g[4], step: 1e-3, "dmean") { f($0, logVar) }
        checkFiniteDifferences(logVar, analytic: g[5], step: 1e-3, "dlogvar") { f(mean, $0) }
    }

    /// Three Adam steps against the update rule written out in Double.
    @Test func adamFollowsPyTorchsUpdateRule() {
        var rng = TestRandom(11)
        let n = 10
        var p = rng.floats(n)
        let settings = AdamSettings(learningRate: 0.01)
        let adam = Adam(count: n, settings: settings)
        let params = Buffer(p)
        var m = [Double](repeating: 0, count: n), v = m
        var reference = p.map(Double.init)
        for t in 1...3 {
            let g = rng.floats(n)
            let grads = Buffer(g)
            adam.update(params: params.pointer, grads: grads.pointer, range: 0..<n, step: t)
            withExtendedLifetime(grads) {}
            for i in 0..<n {
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                let mHat = m[i] / (1 - pow(0.9, Double(t))), vHat = v[i] / (1 - pow(0.999, Double(t)))
                reference[i] -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        p = params.array
        assertClose(p, reference.map(Float.init), relative: 1e-5, absolute: 1e-6)
    }
}
