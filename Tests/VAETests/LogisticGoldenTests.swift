// The discretized logistic mixture against PyTorch (Fixtures/golden_logistic.json): the likelihood alone, and whole models with it.
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

struct LogisticLikelihoodCase: Decodable {
    var batch, channels, side, mixtures: Int
    var scale: Float
    var output, x, gradient, mean: [Float]
    var nll, pixelcnn_nll: [Double]
    /// Whether PixelCNN++'s own formula is exact for the image (no inner bin below its 1e-5 fallback threshold).
    var pixelcnn_exact: [Bool]
}

struct LogisticGolden: Decodable {
    var likelihood: [String: LogisticLikelihoodCase]
    var models: [String: GoldenCase]

    static func load() throws -> LogisticGolden {
        let url = try #require(Bundle.module.url(forResource: "golden_logistic", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(LogisticGolden.self, from: Data(contentsOf: url))
    }
}

@Suite struct LogisticGoldenTests {
    /// NLL per image, its gradient with respect to every decoder output and the mean image, against
    /// PyTorch in float64, on outputs that reach the log-scale clamp, very wide and very narrow
    /// components, means beyond ±1 and targets on levels 0 and 255; and against PixelCNN++'s own
    /// formula on the images where that formula is exact.
    @Test(arguments: ["rgb_k3", "gray_k2", "rgb_k1", "rgb_moderate"])
    func likelihoodMatchesPyTorch(_ name: String) throws {
        let g = try #require(try LogisticGolden.load().likelihood[name])
        let likelihood = LogisticMixtureLikelihood(mixtures: g.mixtures)
        let image = TensorShape(channels: g.channels, height: g.side, width: g.side)
        #expect(likelihood.outputChannels(imageChannels: g.channels) * g.side * g.side * g.batch == g.output.count)
        let output = Buffer(g.output), x = Buffer(g.x), gradient = Buffer(count: g.output.count), mean = Buffer(count: g.x.count)
        let none = Buffer(count: 1)
        var nll = [Double](repeating: 0, count: g.batch)
        likelihood.negativeLogLikelihood(output: output.pointer, targets: x.pointer, batch: g.batch, image: image,
                                         parameters: none.pointer, into: &nll, gradient: gradient.pointer,
                                         parameterGradients: nil, scale: g.scale)
        likelihood.mean(output: output.pointer, batch: g.batch, image: image, parameters: none.pointer, into: mean.pointer)
        withExtendedLifetime((output, x, none)) {}
        for b in 0..<g.batch {
            assertClose(nll[b], g.nll[b], relative: 2e-6, absolute: 1e-4, "\(name) nll[\(b)]")
            if g.pixelcnn_exact[b] { assertClose(nll[b], g.pixelcnn_nll[b], relative: 2e-6, absolute: 1e-4, "\(name) PixelCNN++ nll[\(b)]") }
        }
        assertClose(gradient.array, g.gradient, relative: 1e-4, absolute: 2e-5, "\(name) gradient")
        assertClose(mean.array, g.mean, relative: 1e-5, absolute: 2e-6, "\(name) mean")
    }

    /// A whole small model with the logistic likelihood, RGB (two components), gray (three) and the
    /// residual family: its decoder outputs, loss, every parameter's gradient and three Adam steps equal PyTorch's.
    @Test(arguments: ["rgb_logistic", "gray_logistic", "resnet_logistic"])
    func modelMatchesPyTorch(_ name: String) throws {
        let g = try #require(try LogisticGolden.load().models[name])
        #expect(g.model.likelihood == .logistic && g.model.mixtures != nil)
        expectMatchesPyTorch(g)
    }

    /// config.json files written before the logistic likelihood (no "mixtures") still load; a
    /// logistic model keeps its component count through a save and load.
    @Test func mixturesAreOptionalInConfigJSON() throws {
        let old = #"{"size": 8, "channels": 1, "latent": 2, "widths": [4], "likelihood": "bernoulli"}"#
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(old.utf8))
        #expect(config.mixtures == nil && config.problem == nil)
        var logistic = ModelConfig.plain(size: 8, channels: 3, widths: [4], hidden: nil, latent: 2, likelihood: .logistic)
        #expect(logistic.problem == nil)
        #expect(Network(config: logistic).outputShape.channels == 10 * LogisticMixtureLikelihood.defaultMixtures)
        logistic.mixtures = 7
        let again = try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(logistic))
        #expect(again == logistic && Network(config: again).outputShape.channels == 70)
        logistic.mixtures = 0
        #expect(logistic.problem?.contains("mixture components") == true)
    }
}
