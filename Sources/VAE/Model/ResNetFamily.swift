// ResNetFamily: the block lists of `--arch resnet`: 3×3 convolutions with a residual block at each scale, upsampling in the decoder.
import Foundation

extension ModelConfig {
    /// The residual family: per width, a 3×3 stride-2 convolution (halving the side) with
    /// `activation`, then a residual block at that scale; `activation`, flatten, an optional
    /// `hidden` fully connected layer, the heads. The decoder mirrors it: a linear layer to the
    /// smallest planes, a residual block, then per width an activation, nearest-neighbour ×2
    /// upsampling, a 3×3 convolution and a residual block; last an activation, upsampling and a 3×3
    /// convolution to the likelihood's channels (no residual block at full size, where one would
    /// cost as much as the rest of the decoder). Residual blocks are pre-activation, so the
    /// stream between them carries no activation of its own: one is applied before each
    /// convolution that reads it, flatten included.
    public static func resnet(size: Int, channels: Int, widths: [Int], hidden: Int?, latent: Int,
                              likelihood: LikelihoodKind = .bernoulli, logScale: Float = log(0.1),
                              learnScale: Bool = false, initialization: Initialization = .kaiming,
                              activation: Activation = .silu) -> ModelConfig {
        let top = widths.last ?? channels, bottom = size >> widths.count, flat = top * bottom * bottom
        func conv(_ module: String, _ channels: Int?, stride: Int, activation: Activation? = nil) -> Block {
            Block(.conv, module: module, channels: channels, kernel: 3, stride: stride, padding: 1, activation: activation)
        }
        func residual(_ module: String, _ channels: Int) -> Block {
            Block(.residual, module: module, channels: channels, activation: activation)
        }
        let act = Block(activation == .relu ? .relu : .silu, module: "enc")
        var encoder: [Block] = []
        for (i, w) in widths.enumerated() {
            if i > 0 { encoder.append(act) }
            encoder += [conv("enc", w, stride: 2, activation: activation), residual("enc", w)]
        }
        encoder += [act, Block(.flatten, module: "enc")]
        var decoder: [Block] = []
        if let hidden {
            encoder.append(Block(.linear, module: "enc_fc", channels: hidden, activation: activation))
            decoder.append(Block(.linear, module: "dec_fc", channels: hidden, activation: activation))
        }
        decoder += [Block(.linear, module: "dec_fc", channels: flat), Block(.unflatten, channels: top), residual("dec", top)]
        let dact = Block(activation == .relu ? .relu : .silu, module: "dec"), up = Block(.upsample, module: "dec")
        for w in widths.reversed().dropFirst() {
            decoder += [dact, up, conv("dec", w, stride: 1), residual("dec", w)]
        }
        decoder += [dact, up, conv("dec", nil, stride: 1)]
        return ModelConfig(size: size, channels: channels, latent: latent, encoder: encoder, decoder: decoder,
                           likelihood: likelihood, logScale: logScale, learnScale: learnScale,
                           initialization: initialization)
    }

    /// The family a block list belongs to, as `--arch` names it: resnet when it has residual blocks.
    public var architecture: ModelChoice.Architecture {
        (encoder + decoder).contains { $0.kind == .residual } ? .resnet : .plain
    }
}
