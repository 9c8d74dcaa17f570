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
        expectMatchesPyTorch(try #require(try loadResNetGolden()[name]))
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
