// The autoregressive Bernoulli term against PyTorch (Fixtures/golden_autoregressive.json), finite differences, and an exact sum over every binary image.
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

struct AutoregressiveGolden: Decodable {
    struct Fill: Decodable { var logits, mean: [Float] }
    var models: [String: GoldenCase]
    var fills: [String: Fill]

    static func load() throws -> AutoregressiveGolden {
        let url = try #require(Bundle.module.url(forResource: "golden_autoregressive", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(AutoregressiveGolden.self, from: Data(contentsOf: url))
    }
}

@Suite struct AutoregressiveTests {
    static let cases = ["ar_gray_k3", "ar_rgb_k5", "ar_rgb_linear_k5", "ar_wide_k7"]

    /// Whole small models: decoder output, loss (the term inside the NLL), every gradient including
    /// the term's, and three Adam steps equal PyTorch's masked conv2d.
    @Test(arguments: cases)
    func modelMatchesPyTorch(_ name: String) throws {
        let g = try #require(try AutoregressiveGolden.load().models[name])
        #expect(g.model.autoregressive != nil)
        expectMatchesPyTorch(g)
    }

    /// The mean image filled in raster order from the decoder's logits equals PyTorch's fill.
    @Test(arguments: cases)
    func meanFillMatchesPyTorch(_ name: String) throws {
        let golden = try AutoregressiveGolden.load()
        let g = try #require(golden.models[name]), fill = try #require(golden.fills[name])
        let network = Network(config: g.model)
        let params = Buffer(count: network.parameterCount)
        for t in network.layout.tensors { for (i, v) in g.params[t.name]!.enumerated() { params[t.offset + i] = v } }
        let logits = Buffer(fill.logits), mean = Buffer(count: fill.mean.count)
        network.likelihood.mean(output: logits.pointer, batch: g.batch, image: network.imageShape,
                                parameters: params.pointer + network.likelihoodOffset, into: mean.pointer)
        assertClose(mean.array, fill.mean, relative: 1e-5, absolute: 1e-6, "\(name) mean")
    }

    /// A 3×3 image has 512 binary images; their probabilities under the term sum to 1 for any
    /// logits and weights when the pixels see each other in one order (a mask that lets a pixel
    /// see itself was tried: the sums were off by 0.3 to 0.9).
    @Test func probabilitiesOfEveryBinaryImageSumToOne() {
        var random = TestRandom(17)
        for (kernel, hidden) in [(3, 3), (5, 3), (5, 0)] {
            let term = AutoregressiveBernoulliLikelihood(kernel: kernel, hidden: hidden, channels: 1)
            let params = Buffer(random.floats(term.parameterCount, -1.5, 1.5))
            let image = TensorShape(channels: 1, height: 3, width: 3)
            let logits = Buffer(random.floats(9, -2, 2))
            var total = 0.0
            for bits in 0..<512 {
                let x = Buffer((0..<9).map { Float((bits >> $0) & 1) })
                var nll = [0.0]
                term.negativeLogLikelihood(output: logits.pointer, targets: x.pointer, batch: 1, image: image,
                                           parameters: params.pointer, into: &nll, gradient: nil,
                                           parameterGradients: nil, scale: 1)
                total += exp(-nll[0])
            }
            #expect(abs(total - 1) < 1e-4, "kernel \(kernel), hidden \(hidden): Σ p = \(total)")
        }
    }

    /// The term's parameter gradients against finite differences of the summed NLL, on a batch of
    /// two RGB images (so the gather of the logit gradient across channels and images is covered).
    @Test(arguments: [4, 0])
    func parameterGradientsMatchFiniteDifferences(hidden: Int) {
        var random = TestRandom(5)
        let term = AutoregressiveBernoulliLikelihood(kernel: 3, hidden: hidden, channels: 3)
        let count = term.parameterCount
        let params = Buffer(random.floats(count, -0.7, 0.7))
        let image = TensorShape(channels: 3, height: 4, width: 5), batch = 2
        let logits = Buffer(random.floats(batch * image.count, -2, 2)), x = Buffer(random.floats(batch * image.count, 0, 1))
        func total() -> Double {
            var nll = [Double](repeating: 0, count: batch)
            term.negativeLogLikelihood(output: logits.pointer, targets: x.pointer, batch: batch, image: image,
                                       parameters: params.pointer, into: &nll, gradient: nil, parameterGradients: nil, scale: 1)
            return nll.reduce(0, +)
        }
        let gradient = Buffer(count: batch * image.count), dParams = Buffer(count: count)
        var nll = [Double](repeating: 0, count: batch)
        term.negativeLogLikelihood(output: logits.pointer, targets: x.pointer, batch: batch, image: image,
                                   parameters: params.pointer, into: &nll, gradient: gradient.pointer,
                                   parameterGradients: dParams.pointer, scale: 1)
        let centre = total()
        for i in 0..<count {
            let saved = params[i], exact = Double(dParams[i])
            let numeric = closestFiniteDifference(at: saved, centre: centre, exact: exact) { w in
                params[i] = w
                defer { params[i] = saved }
                return total()
            }
            #expect(isClose(exact, numeric, relative: 2e-2, absolute: 2e-3), "parameter \(i): \(exact) vs \(numeric)")
        }
        // The decoder-output gradient too, for a few outputs.
        for i in stride(from: 0, to: logits.count, by: 7) {
            let saved = logits[i], exact = Double(gradient[i])
            let numeric = closestFiniteDifference(at: saved, centre: centre, exact: exact) { v in
                logits[i] = v
                defer { logits[i] = saved }
                return total()
            }
            #expect(isClose(exact, numeric, relative: 2e-2, absolute: 2e-3), "output \(i): \(exact) vs \(numeric)")
        }
    }

    /// Samples are binary, repeat with the same stream, and with the term's output weights at 0
    /// are plain Bernoulli's draws; the mean is then σ(logit).
    @Test func samplesAndMeanWithoutTheTermArePlainBernoulli() {
        var random = TestRandom(9)
        let term = AutoregressiveBernoulliLikelihood(kernel: 5, hidden: 2, channels: 1)
        let count = term.parameterCount
        let params = Buffer(random.floats(count, -1, 1))
        let outStart = count - term.channels * term.hidden
        for i in outStart..<count { params[i] = 0 }
        let image = TensorShape(channels: 1, height: 6, width: 6)
        let logits = Buffer(random.floats(2 * image.count, -3, 3))
        let a = Buffer(count: logits.count), b = Buffer(count: logits.count), plain = Buffer(count: logits.count)
        let stream = RandomStream(seed: 3, purpose: .sampling, detail: 0)
        term.sample(output: logits.pointer, batch: 2, image: image, parameters: params.pointer, random: stream, start: 5, into: a.pointer)
        term.sample(output: logits.pointer, batch: 2, image: image, parameters: params.pointer, random: stream, start: 5, into: b.pointer)
        BernoulliLikelihood().sample(output: logits.pointer, batch: 2, image: image, parameters: params.pointer,
                                     random: stream, start: 5, into: plain.pointer)
        #expect(a.array == b.array && a.array == plain.array && a.array.allSatisfy { $0 == 0 || $0 == 1 })
        term.mean(output: logits.pointer, batch: 2, image: image, parameters: params.pointer, into: a.pointer)
        BernoulliLikelihood().mean(output: logits.pointer, batch: 2, image: image, parameters: params.pointer, into: b.pointer)
        assertClose(a.array, b.array, relative: 1e-6, absolute: 1e-7, "mean")
    }

    /// config.json without "autoregressive" loads as before; with it the term survives a save and
    /// load; a bad kernel, too many channels or another likelihood are refused with a message.
    @Test func configRoundTripAndProblems() throws {
        var config = ModelConfig.plain(size: 8, channels: 1, widths: [4], hidden: nil, latent: 2)
        #expect(config.autoregressive == nil)
        config.autoregressive = .init(kernel: 5, channels: 3)
        #expect(config.problem == nil && config.summary.contains("autoregressive 5×5 ×3"))
        let again = try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(config))
        #expect(again == config)
        #expect(Network(config: again).layout.tensors.map(\.name).contains("ar.in_weight"))
        config.autoregressive = .init(kernel: 4, channels: 3)
        #expect(config.problem?.contains("must be odd") == true)
        config.autoregressive = .init(kernel: 3, channels: 100_000)
        #expect(config.problem?.contains("out of range") == true)
        config.autoregressive = .init(kernel: 3, channels: 2)
        config.likelihood = .gaussian
        #expect(config.problem?.contains("bernoulli likelihood only") == true)
    }
}
