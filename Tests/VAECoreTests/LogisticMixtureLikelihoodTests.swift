// The discretized logistic mixture: its 256 levels sum to 1, its gradient against finite differences, its mean and sampler's statistics.
import Foundation
import Testing
import TestSupport
@testable import VAECore

/// Decoder outputs for `pixels` pixels that all hold the same parameters: `planes` values, one per output plane.
func everyPixel(_ planes: [Float], pixels: Int) -> [Float] { planes.flatMap { [Float](repeating: $0, count: pixels) } }

/// −log p of each of `batch` images against `output`, with the gradient when asked.
func logisticNLL(_ likelihood: LogisticMixtureLikelihood, output: [Float], targets: [Float], batch: Int, image: TensorShape,
                 gradient: Bool = false, scale: Float = 1) -> (nll: [Double], gradient: [Float]) {
    let o = Buffer(output), t = Buffer(targets), g = Buffer(count: gradient ? output.count : 1), none = Buffer(count: 1)
    var nll = [Double](repeating: 0, count: batch)
    likelihood.negativeLogLikelihood(output: o.pointer, targets: t.pointer, batch: batch, image: image,
                                     parameters: none.pointer, into: &nll, gradient: gradient ? g.pointer : nil,
                                     parameterGradients: nil, scale: scale)
    withExtendedLifetime((o, t, none)) {}
    return (nll, gradient ? g.array : [])
}

/// The planes of one pixel: logits, then per channel means, log-scales and (RGB) coefficients.
func pixelPlanes(logits: [Float], means: [[Float]], logScales: [[Float]], coefficients: [[Float]] = []) -> [Float] {
    var planes = logits
    for c in means.indices { planes += means[c] + logScales[c] + (coefficients.isEmpty ? [] : coefficients[c]) }
    return planes
}

@Suite struct LogisticMixtureLikelihoodTests {
    let single = TensorShape(channels: 1, height: 1, width: 1)

    /// Gray: for random parameters (three components, scales from below the clamp to e⁹⁰, means
    /// beyond the edges), Σ over the 256 levels of P(level) is 1.
    @Test func grayProbabilitiesOverTheLevelsSumToOne() {
        let likelihood = LogisticMixtureLikelihood(mixtures: 3)
        var rng = TestRandom(7)
        let scales: [Float] = [-40, -7.5, -7, -5, -3, -1, 0, 2, 5, 12, 30, 90]
        let targets = (0..<256).map { Float($0) / 255 }
        for trial in 0..<40 {
            let logScales = (0..<3).map { _ in scales[Int(rng.next() % UInt64(scales.count))] + rng.float(-0.3, 0.3) }
            let planes = pixelPlanes(logits: rng.floats(3, -3, 3), means: [rng.floats(3, -1.6, 1.6)], logScales: [logScales])
            let nll = logisticNLL(likelihood, output: planes.repeated(256), targets: targets,
                                  batch: 256, image: single).nll
            let total = nll.reduce(0) { $0 + exp(-$1) }
            #expect(nll.allSatisfy { $0.isFinite }, "trial \(trial)")
            #expect(abs(total - 1) < 2e-6, "trial \(trial): Σ P = \(total), log-scales \(logScales)")
        }
    }

    /// RGB with the channel coefficients, two components (one narrow below the clamp, one wide): for
    /// red levels across the range (the edges included), Σ over all 65,536 (green, blue) of P(r, g, b)
    /// is the red marginal Σ_k π_k P_k(r), which the gray likelihood with the red planes gives and
    /// which sums to 1 over r (above). (All 256³ colours take 15 s in a debug build.)
    @Test func rgbProbabilitiesOverGreenAndBlueSumToTheRedMarginal() {
        let likelihood = LogisticMixtureLikelihood(mixtures: 2)
        let image = TensorShape(channels: 3, height: 1, width: 1)
        let logits: [Float] = [0.3, -0.4], means: [[Float]] = [[0.2, -1.2], [-0.5, 0.7], [0.9, 0.1]]
        let logScales: [[Float]] = [[-8, 1.5], [-2, -6.5], [-4, 0.2]]
        let planes = pixelPlanes(logits: logits, means: means, logScales: logScales,
                                 coefficients: [[0.9, -2], [-0.7, 0.4], [1.5, 0.3]])
        let red = pixelPlanes(logits: logits, means: [means[0]], logScales: [logScales[0]])
        let output = planes.repeated(65536)
        for r in [0, 1, 40, 99, 128, 153, 200, 254, 255] {
            var targets = [Float](repeating: Float(r) / 255, count: 3 * 65536)
            for gb in 0..<65536 {
                targets[3 * gb + 1] = Float(gb >> 8) / 255
                targets[3 * gb + 2] = Float(gb & 255) / 255
            }
            let total = logisticNLL(likelihood, output: output, targets: targets, batch: 65536, image: image).nll
                .reduce(0) { $0 + exp(-$1) }
            let marginal = exp(-logisticNLL(likelihood, output: red, targets: [Float(r) / 255], batch: 1, image: single).nll[0])
            #expect(abs(total / marginal - 1) < 1e-5, "red \(r): Σ P = \(total), P(r) = \(marginal)")
        }
    }

    /// Huge and tiny scales, means far outside [−1, 1], huge logits: NLL and gradient stay finite.
    @Test func extremeParametersStayFinite() {
        let likelihood = LogisticMixtureLikelihood(mixtures: 2)
        let image = TensorShape(channels: 3, height: 1, width: 4)
        var output: [Float] = []
        let values: [[Float]] = [[-60, 60], [80, -80], [-100, 100], [3, -3]]
        for plane in 0..<likelihood.outputChannels(imageChannels: 3) {
            for p in 0..<4 { output.append(values[p][plane % 2] * (plane % 3 == 0 ? 1 : 0.5)) }
        }
        let targets = everyPixel([0, 1, 128 / 255], pixels: 4)
        let r = logisticNLL(likelihood, output: output, targets: targets, batch: 1, image: image, gradient: true)
        #expect(r.nll.allSatisfy { $0.isFinite } && r.gradient.allSatisfy { $0.isFinite })
    }

    /// ∂NLL/∂output against central differences, for every output value of an RGB and a gray image
    /// (targets on the edge levels included; one log-scale below the clamp, whose gradient is 0).
    @Test(arguments: [3, 1]) func gradientMatchesFiniteDifferences(channels: Int) {
        let likelihood = LogisticMixtureLikelihood(mixtures: 3)
        let image = TensorShape(channels: channels, height: 2, width: 2), P = 4, K = 3
        var rng = TestRandom(UInt64(11 + channels))
        var output = rng.floats(likelihood.outputChannels(imageChannels: channels) * P, -1.2, 1.2)
        for c in 0..<channels {
            for k in 0..<K {
                let plane = likelihood.meanPlane(c, k, channels: channels) + K
                for p in 0..<P { output[plane * P + p] = rng.float(-2.5, 0.5) }
            }
        }
        output[(likelihood.meanPlane(0, 1, channels: channels) + K) * P + 2] = -7.5
        let targets = (0..<(channels * P)).map { i in Float([0, 255, 17, 128, 200, 3][i % 6]) / 255 }
        let analytic = logisticNLL(likelihood, output: output, targets: targets, batch: 1, image: image,
                                   gradient: true, scale: 0.5).gradient
        let step: Float = 1e-2
        for i in output.indices {
            var plus = output, minus = output
            plus[i] += step
            minus[i] -= step
            let f = { (o: [Float]) in 0.5 * logisticNLL(likelihood, output: o, targets: targets, batch: 1, image: image).nll[0] }
            let numeric = (f(plus) - f(minus)) / Double(2 * step)
            #expect(isClose(Double(analytic[i]), numeric, relative: 1e-2, absolute: 2e-3),
                    "output \(i) (plane \(i / P)): analytic \(analytic[i]) vs numeric \(numeric)")
        }
    }

    /// Gray, two components and one at the edge: the frequencies of 60,000 draws match the
    /// probabilities the NLL gives (in 32 groups of 8 levels), every draw is a level, and the mean
    /// of the draws is `mean`.
    @Test func graySamplesFollowTheProbabilitiesAndTheMean() {
        let likelihood = LogisticMixtureLikelihood(mixtures: 3), N = 60_000
        let planes = pixelPlanes(logits: [0.2, 1.0, -0.5], means: [[-0.5, 0.3, 0.95]],
                                 logScales: [[log(0.05), log(0.1), log(0.2)]])
        let output = Buffer(everyPixel(planes, pixels: N)), draws = Buffer(count: N), mean = Buffer(count: N), none = Buffer(count: 1)
        let image = TensorShape(channels: 1, height: 1, width: N)
        likelihood.sample(output: output.pointer, batch: 1, image: image, parameters: none.pointer,
                          random: RandomStream(seed: 5, purpose: .sampling), start: 0, into: draws.pointer)
        likelihood.mean(output: output.pointer, batch: 1, image: image, parameters: none.pointer, into: mean.pointer)
        withExtendedLifetime((output, none)) {}
        let levels = draws.array.map { Int(($0 * 255).rounded()) }
        #expect(zip(levels, draws.array).allSatisfy { Float($0) / 255 == $1 })
        let p = logisticNLL(likelihood, output: planes.repeated(256), targets: (0..<256).map { Float($0) / 255 }, batch: 256,
                            image: single).nll.map { exp(-$0) }
        for group in 0..<32 {
            let expected = p[(8 * group)..<(8 * group + 8)].reduce(0, +)
            let seen = Double(levels.filter { $0 / 8 == group }.count) / Double(N)
            let sd = (expected * (1 - expected) / Double(N)).squareRoot()
            #expect(abs(seen - expected) < 5 * sd + 1e-4, "levels \(8 * group)–\(8 * group + 7): \(seen) vs \(expected)")
        }
        let exactMean = p.enumerated().reduce(0) { $0 + Double($1.offset) / 255 * $1.element }
        let sampleMean = draws.array.reduce(0.0) { $0 + Double($1) } / Double(N)
        // `mean` takes each component's clamped logistic, not its levels: within half a level.
        #expect(abs(Double(mean[0]) - exactMean) < 0.5 / 255, "mean \(mean[0]) vs \(exactMean)")
        #expect(abs(sampleMean - exactMean) < 0.003, "sample mean \(sampleMean) vs \(exactMean)")
    }

    /// RGB, one component: G is drawn around μ_G + tanh(α)·r and B around μ_B + tanh(β)·r + tanh(γ)·g,
    /// so the regression of G on R has slope tanh(α); the draws' means are `mean`'s.
    @Test func rgbSamplesFollowTheChannelDependence() {
        let likelihood = LogisticMixtureLikelihood(mixtures: 1), N = 40_000
        let planes = pixelPlanes(logits: [0], means: [[0.1], [-0.2], [0.3]], logScales: [[log(0.1)], [log(0.08)], [log(0.05)]],
                                 coefficients: [[0.8], [-0.5], [0.3]])
        let image = TensorShape(channels: 3, height: 1, width: N)
        let output = Buffer(everyPixel(planes, pixels: N)), draws = Buffer(count: 3 * N), mean = Buffer(count: 3 * N)
        let none = Buffer(count: 1)
        likelihood.sample(output: output.pointer, batch: 1, image: image, parameters: none.pointer,
                          random: RandomStream(seed: 8, purpose: .sampling), start: 0, into: draws.pointer)
        likelihood.mean(output: output.pointer, batch: 1, image: image, parameters: none.pointer, into: mean.pointer)
        withExtendedLifetime((output, none)) {}
        let d = draws.array.map { 2 * Double($0) - 1 }
        let r = Array(d[0..<N]), g = Array(d[N..<(2 * N)]), b = Array(d[(2 * N)...])
        func average(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        func slope(_ y: [Double], on x: [Double]) -> Double {
            let mx = average(x), my = average(y)
            return zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        }
        #expect(abs(slope(g, on: r) - tanh(0.8)) < 0.02, "slope \(slope(g, on: r))")
        for (c, v) in [r, g, b].enumerated() {
            #expect(abs((average(v) + 1) / 2 - Double(mean[c * N])) < 0.004, "channel \(c): \((average(v) + 1) / 2) vs \(mean[c * N])")
        }
    }

    /// The planes: K logits, then per channel K means, K log-scales and (RGB) K coefficients.
    @Test func outputChannelsFollowTheLayout() {
        #expect(LogisticMixtureLikelihood(mixtures: 5).outputChannels(imageChannels: 3) == 50)
        #expect(LogisticMixtureLikelihood(mixtures: 10).outputChannels(imageChannels: 3) == 100)
        #expect(LogisticMixtureLikelihood(mixtures: 4).outputChannels(imageChannels: 1) == 12)
        #expect(LogisticMixtureLikelihood(mixtures: 4).meanPlane(2, 1, channels: 3) == 4 + 2 * 12 + 1)
    }
}

extension Array {
    /// The array's elements `times` times over, one copy after another.
    func repeated(_ times: Int) -> [Element] { (0..<times).flatMap { _ in self } }
}
