// ModelConfig: the Codable description of a conv VAE, from which the layer stack is derived.
import Foundation

public enum LikelihoodKind: String, Codable, Sendable, CaseIterable {
    /// Pixels in [0, 1] as Bernoulli probabilities: binary cross-entropy with logits.
    case bernoulli
    /// Pixels as Gaussian with the decoder's output as mean and one scale (fixed or learned).
    case gaussian
}

public struct ModelConfig: Codable, Sendable, Equatable {
    /// Side of the square training images, in pixels.
    public var size: Int
    /// 1 (gray) or 3 (RGB).
    public var channels: Int
    /// Output channels of each encoder convolution (kernel 4, stride 2, padding 1: each halves the side).
    public var widths: [Int]
    /// An optional fully connected layer between the convolutions and the latent heads.
    public var hidden: Int?
    public var latent: Int
    public var likelihood: LikelihoodKind = .bernoulli
    /// For the Gaussian likelihood: log σ, fixed unless `learnScale`.
    public var logScale: Float = log(0.1)
    public var learnScale: Bool = false
    /// Weight initialisation: nil or "pytorch" for PyTorch's defaults (uniform ±1/sqrt(fan_in)),
    /// "kaiming" for He-normal weights N(0, 2/fan_in) with zero biases.
    public var initialization: String?
    public var kernel: Int = 4
    public var stride: Int = 2
    public var padding: Int = 1

    public init(size: Int, channels: Int, widths: [Int], hidden: Int?, latent: Int,
                likelihood: LikelihoodKind = .bernoulli, logScale: Float = log(0.1), learnScale: Bool = false) {
        (self.size, self.channels, self.widths, self.hidden, self.latent) = (size, channels, widths, hidden, latent)
        (self.likelihood, self.logScale, self.learnScale) = (likelihood, logScale, learnScale)
    }

    /// The reference configurations of REFERENCE.md, identical to the PyTorch peer's.
    public static let presets: [String: ModelConfig] = [
        "fmnist": ModelConfig(size: 28, channels: 1, widths: [32, 64], hidden: 256, latent: 16),
        "rgb64": ModelConfig(size: 64, channels: 3, widths: [32, 64, 128, 256], hidden: nil, latent: 128),
    ]
    public static let presetBatch: [String: Int] = ["fmnist": 128, "rgb64": 64]

    /// Side after the encoder convolutions.
    public var bottomSide: Int { size >> widths.count }
    /// Features after flattening the last convolution.
    public var flatFeatures: Int { (widths.last ?? channels) * bottomSide * bottomSide }
    public var imageFloats: Int { channels * size * size }

    /// Why this configuration cannot be built, or nil when it can.
    public var problem: String? {
        if size < 2 { return "image size \(size) is too small" }
        if ![1, 3].contains(channels) { return "channels must be 1 or 3, not \(channels)" }
        if widths.isEmpty { return "at least one encoder width is needed" }
        if widths.contains(where: { $0 < 1 }) { return "encoder widths must be positive" }
        if latent < 1 { return "the latent size must be positive" }
        if let hidden, hidden < 1 { return "the hidden size must be positive" }
        if kernel != 4 || stride != 2 || padding != 1 { return "only kernel 4, stride 2, padding 1 is supported" }
        let divisor = 1 << widths.count
        if size % divisor != 0 {
            let below = size / divisor * divisor, above = below + divisor
            return "image size \(size) is not divisible by \(divisor) (2^\(widths.count) for \(widths.count) "
                + "convolutions): use --size \(below == 0 ? above : below) or \(above), or fewer --widths"
        }
        return nil
    }
}
