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
        #expect(g.model.problem == nil, "\(g.model.problem ?? "")")
        let network = Network(config: g.model)
        #expect(network.layout.tensors.map(\.name) == g.names)
        for t in network.layout.tensors { #expect(t.shape == g.shapes[t.name], "\(t.name)") }
        let params = Buffer(count: network.parameterCount)
        for t in network.layout.tensors { for (i, v) in g.params[t.name]!.enumerated() { params[t.offset + i] = v } }
        let ws = Workspace(network: network, capacity: g.batch)
        let x = Buffer(g.x), eps = Buffer(g.eps)
        func pass() -> Double {
            ws.grads.zero()
            network.encode(x.pointer, batch: g.batch, params: params.pointer, in: ws)
            ws.eps.pointer.update(from: eps.pointer, count: eps.count)
            network.sampleLatent(batch: g.batch, in: ws)
            network.decode(batch: g.batch, params: params.pointer, in: ws)
            network.evaluateLoss(x.pointer, batch: g.batch, params: params.pointer, in: ws, gradientScale: 1 / Float(g.batch))
            network.backward(x.pointer, batch: g.batch, params: params.pointer, in: ws)
            return (ws.reconstruction.prefix(g.batch).reduce(0, +) + ws.kl.prefix(g.batch).reduce(0, +)) / Double(g.batch)
        }
        let loss = pass()
        assertClose(Array(ws.logits.array.prefix(g.logits.count)), g.logits, relative: 1e-4, absolute: 1e-5, "decoder output")
        assertClose(loss, g.loss, relative: 1e-5, "loss")
        for t in network.layout.tensors {
            assertClose(Array(ws.grads.array[t.offset..<(t.offset + t.count)]), g.grads[t.name]!, relative: 1e-4,
                        absolute: 1e-5, "grad \(t.name)")
        }
        let adam = Adam(count: network.parameterCount)
        for step in 1...3 {
            _ = pass()
            adam.update(params: params.pointer, grads: ws.grads.pointer, range: 0..<network.parameterCount, step: step)
        }
        for t in network.layout.tensors {
            assertClose(Array(params.array[t.offset..<(t.offset + t.count)]), g.params_after_3_adam_steps[t.name]!,
                        relative: 1e-4, absolute: 1e-5, "\(t.name) after Adam")
        }
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
