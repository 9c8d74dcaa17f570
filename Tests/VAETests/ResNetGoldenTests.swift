// The residual-family layers against PyTorch: outputs, loss, every gradient and three Adam steps (Fixtures/golden_resnet.json).
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

func loadResNetGolden() throws -> [String: GoldenCase] {
    let url = try #require(Bundle.module.url(forResource: "golden_resnet", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode([String: GoldenCase].self, from: Data(contentsOf: url))
}

@Suite struct ResNetGoldenTests {
    /// The resnet family with SiLU and with ReLU and a hidden layer (3×3 stride-2 convolutions,
    /// residual blocks, upsampling + 3×3 convolutions), and the blocks at their edges: a residual
    /// block first in the encoder (no input gradient) and last in the decoder with the default
    /// activation, a 3×3 stride-2 convolution over an odd side.
    @Test(arguments: ["resnet_silu", "resnet_relu_hidden", "residual_edges"])
    func matchesPyTorch(_ name: String) throws {
        let g = try #require(try loadResNetGolden()[name])
        #expect(g.model.problem == nil, "\(g.model.problem ?? "")")
        let network = Network(config: g.model)
        let c = (batch: g.batch, channels: g.model.channels, size: g.model.size, latent: g.model.latent)
        // Same names (conv1/conv2 under the block's module and index), shapes and order.
        #expect(network.layout.tensors.map(\.name) == g.names)
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
        let n = c.batch * c.channels * c.size * c.size
        assertClose(Array(ws.logits.array.prefix(n)), g.logits, relative: 1e-4, absolute: 1e-5, "logits")
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

    /// ModelConfig.resnet writes the block lists python/vae_model.py's `resnet` writes.
    @Test func swiftAndPythonBuildTheSameResNet() throws {
        let golden = try loadResNetGolden()
        let silu = try #require(golden["resnet_silu"]).model
        let made = ModelConfig.resnet(size: 8, channels: 3, widths: [4, 6], hidden: nil, latent: 3)
        #expect(made.encoder == silu.encoder && made.decoder == silu.decoder)
        let relu = try #require(golden["resnet_relu_hidden"]).model
        let madeReLU = ModelConfig.resnet(size: 8, channels: 1, widths: [5], hidden: 10, latent: 2, activation: .relu)
        #expect(madeReLU.encoder == relu.encoder && madeReLU.decoder == relu.decoder)
        #expect(made.architecture == .resnet && ModelConfig.presets["fmnist"]!.architecture == .plain)
    }

    /// The residual blocks' convolutions count in `vae bench`'s convolution share: two 3×3
    /// convolutions each, their input gradients included.
    @Test func residualBlocksCountAsConvolutions() {
        let network = Network(config: .resnet(size: 16, channels: 1, widths: [4, 8], hidden: nil, latent: 2))
        let blocks = network.convolutionLayers.filter { $0.layer is ResidualBlock }
        #expect(blocks.count == 4)
        #expect(blocks.allSatisfy { $0.layer.multiplyAdds == 2 * 9 * $0.layer.outputShape.channels * $0.layer.outputShape.count })
        let total = network.convolutionLayers.reduce(0) { $0 + $1.layer.multiplyAdds }
        #expect(network.convolutionTrainingMultiplyAdds == 3 * total - network.encoder[0].layer.multiplyAdds)
    }
}
