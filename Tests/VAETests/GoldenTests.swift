// The whole model against PyTorch: outputs, loss, every gradient and three Adam steps (Fixtures/golden.json).
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

struct GoldenCase: Decodable {
    /// A config.json model section (block lists), as python/vae_model.py built it.
    var model: ModelConfig
    var batch: Int
    var names: [String]
    var shapes: [String: [Int]]
    var params: [String: [Float]]
    var x, eps, logits, mean, logvar: [Float]
    var loss: Double
    var grads: [String: [Float]]
    var params_after_3_adam_steps: [String: [Float]]
}

func loadGolden() throws -> [String: GoldenCase] {
    let url = try #require(Bundle.module.url(forResource: "golden", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode([String: GoldenCase].self, from: Data(contentsOf: url))
}

/// A whole model against PyTorch's saved run of it: names, shapes, decoder output, the posterior's
/// mean and log-variance, loss, every gradient, and the weights after three Adam steps.
func expectMatchesPyTorch(_ g: GoldenCase) {
    #expect(g.model.problem == nil, "\(g.model.problem ?? "")")
    let network = Network(config: g.model)
    let c = (batch: g.batch, channels: g.model.channels, size: g.model.size, latent: g.model.latent)
    // Same names, same shapes, and the layers' tensors in the same order: weights move between
    // the two unchanged. (PyTorch lists a module's own parameters, log_scale, before its children's.)
    let names = network.layout.tensors.map(\.name)
    #expect(names.sorted() == g.names.sorted())
    #expect(names.filter { $0 != "log_scale" } == g.names.filter { $0 != "log_scale" })
    for t in network.layout.tensors { #expect(t.shape == g.shapes[t.name], "\(t.name)") }
    let params = Buffer(count: network.parameterCount)
    for t in network.layout.tensors { for (i, v) in g.params[t.name]!.enumerated() { params[t.offset + i] = v } }

    let ws = Workspace(network: network, capacity: c.batch)
    let x = Buffer(g.x), eps = Buffer(g.eps)
    func pass() -> Double {
        ws.grads.zero()
        network.encode(x.pointer, batch: c.batch, params: params.pointer, in: ws)
        ws.eps.pointer.update(from: eps.pointer, count: eps.count)
        network.sampleLatent(batch: c.batch, in: ws)
        network.decode(batch: c.batch, params: params.pointer, in: ws)
        network.evaluateLoss(x.pointer, batch: c.batch, params: params.pointer, in: ws,
                             gradientScale: 1 / Float(c.batch))
        network.backward(x.pointer, batch: c.batch, params: params.pointer, in: ws)
        return (ws.reconstruction.prefix(c.batch).reduce(0, +) + ws.kl.prefix(c.batch).reduce(0, +)) / Double(c.batch)
    }
    let loss = pass()
    // The decoder's output: as many planes as the likelihood reads (one per channel, or a mixture's).
    let n = c.batch * network.outputShape.count
    assertClose(Array(ws.logits.array.prefix(n)), g.logits, relative: 1e-4, absolute: 1e-5, "decoder output")
    assertClose(Array(ws.mean.array.prefix(c.batch * c.latent)), g.mean, relative: 1e-4, absolute: 1e-5, "mean")
    assertClose(Array(ws.logVariance.array.prefix(c.batch * c.latent)), g.logvar, relative: 1e-4, absolute: 1e-5,
                "logvar")
    assertClose(loss, g.loss, relative: 1e-5, "loss")
    for t in network.layout.tensors {
        let grad = Array(ws.grads.array[t.offset..<(t.offset + t.count)])
        assertClose(grad, g.grads[t.name]!, relative: 1e-4, absolute: 1e-5, "grad \(t.name)")
    }
    let adam = Adam(count: network.parameterCount)
    for step in 1...3 {
        _ = pass()
        adam.update(params: params.pointer, grads: ws.grads.pointer, range: 0..<network.parameterCount, step: step)
    }
    for t in network.layout.tensors {
        let p = Array(params.array[t.offset..<(t.offset + t.count)])
        assertClose(p, g.params_after_3_adam_steps[t.name]!, relative: 1e-4, absolute: 1e-5, "\(t.name) after Adam")
    }
}

@Suite struct GoldenTests {
    /// Two models of the plain family (the PyTorch peer's), one with every layer kind and both
    /// activations (3×3 convolutions, SiLU fused and alone, a standalone ReLU, a convolution last),
    /// and a Gaussian likelihood with a learned scale.
    @Test(arguments: ["rgb_hidden", "gray_plain", "silu_blocks", "gaussian_learned"])
    func matchesPyTorch(_ name: String) throws {
        expectMatchesPyTorch(try #require(try loadGolden()[name]))
    }

    /// PyTorch's default: every tensor uniform in ±1/sqrt(fan_in); He-normal: N(0, 2/fan_in), zero biases.
    @Test func initialisationsHaveTheirStatistics() {
        for kaiming in [false, true] {
            var config = ModelConfig.presets["fmnist"]!
            config.initialization = kaiming ? .kaiming : .pytorch
            let network = Network(config: config)
            let params = Buffer(count: network.parameterCount)
            network.initialize(params, seed: 3)
            for t in network.layout.tensors {
                let values = Array(UnsafeBufferPointer(start: params.pointer + t.offset, count: t.count))
                let bound = 1 / Double(t.fanIn).squareRoot()
                if !kaiming {
                    #expect(values.allSatisfy { abs(Double($0)) <= bound }, "\(t.name)")
                    if t.count > 10_000 {   // uniform: variance bound²/3
                        let variance = values.reduce(0) { $0 + Double($1) * Double($1) } / Double(t.count)
                        #expect(abs(variance / (bound * bound / 3) - 1) < 0.05, "\(t.name)")
                    }
                } else if t.shape.count == 1 {
                    #expect(values.allSatisfy { $0 == 0 }, "\(t.name)")
                } else if t.count > 10_000 {
                    let variance = values.reduce(0) { $0 + Double($1) * Double($1) } / Double(t.count)
                    #expect(abs(variance / (2 / Double(t.fanIn)) - 1) < 0.05, "\(t.name)")
                }
            }
        }
    }

    @Test func presetsHaveTheReferenceParameterCounts() {
        #expect(Network(config: ModelConfig.presets["fmnist"]!).parameterCount == 1_688_289)
        #expect(Network(config: ModelConfig.presets["rgb64"]!).parameterCount == 2_957_251)
    }

    /// The count `vae bench` divides by conv-layer time, against the rgb64 reference layer list:
    /// a 4×4 stride-2 layer does in channels × out channels × 16 multiply-adds per pixel of its
    /// smaller side (a convolution's output, a transposed convolution's input); a training step
    /// does each three times (forward, dW, dX) except the first layer's dX.
    @Test func convolutionMultiplyAddsFollowTheLayerList() {
        // (in channels, out channels, smaller side) for rgb64's four convolutions and four transposed ones.
        let layers = [(3, 32, 32), (32, 64, 16), (64, 128, 8), (128, 256, 4),
                      (256, 128, 4), (128, 64, 8), (64, 32, 16), (32, 3, 32)]
        let macs = layers.map { $0.0 * $0.1 * 16 * $0.2 * $0.2 }
        let expected = 3 * macs.reduce(0, +) - macs[0]
        #expect(expected == 158_859_264)
        #expect(Network(config: ModelConfig.presets["rgb64"]!).convolutionTrainingMultiplyAdds == expected)
    }
}
