// ModelChoice: what `vae train`'s model flags ask for (a preset, or sizes), turned into a ModelConfig with the defaults.
import Foundation

public struct ModelChoice: Sendable {
    /// A reference model (ModelConfig.presets); the other fields override its values.
    public var preset: String?
    public var size: Int?, channels: Int?, latent: Int?, hidden: Int?
    public var widths: [Int]?
    public var likelihood: LikelihoodKind = .bernoulli
    /// σ of the Gaussian likelihood (its log is stored).
    public var gaussianScale: Float = 0.1
    public var learnScale = false
    public var initialization: Initialization = .kaiming
    public var activation: Activation = .relu

    public init() {}

    /// The plain family with these sizes: 64×64 colour, latent 32 and as many convolutions as
    /// halve the side to 4–7 pixels, unless a preset or a flag says otherwise.
    public func config() throws -> ModelConfig {
        if let preset, ModelConfig.presets[preset] == nil {
            throw ModelError("unknown preset '\(preset)': use one of \(ModelConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        let base = preset.flatMap { ModelChoice.presetSizes[$0] }
        let size = self.size ?? base?.size ?? 64
        let widths = self.widths ?? (base != nil && self.size == nil ? base!.widths : Self.defaultWidths(size: size))
        // The plain family mirrors the encoder: the side must halve exactly at every convolution.
        let divisor = 1 << Swift.min(widths.count, 20)
        if size % divisor != 0 {
            let below = size / divisor * divisor, above = below + divisor
            throw ModelError("image size \(size) is not divisible by \(divisor) (2^\(widths.count) for \(widths.count) "
                             + "convolutions): use --size \(below == 0 ? above : below) or \(above), or fewer --widths")
        }
        let config = ModelConfig.plain(size: size, channels: channels ?? base?.channels ?? 3, widths: widths,
                                       hidden: hidden ?? base?.hidden, latent: latent ?? base?.latent ?? 32,
                                       likelihood: likelihood, logScale: log(gaussianScale), learnScale: learnScale,
                                       initialization: initialization, activation: activation)
        if let problem = config.problem { throw ModelError(problem) }
        return config
    }

    /// The presets as the plain family's sizes, so that flags can change one of them.
    static let presetSizes: [String: (size: Int, channels: Int, widths: [Int], hidden: Int?, latent: Int)] = [
        "fmnist": (28, 1, [32, 64], 256, 16),
        "rgb64": (64, 3, [32, 64, 128, 256], nil, 128),
    ]

    /// As many stride-2 convolutions as halve `size` exactly while the side stays at least 4.
    public static func defaultWidths(size: Int) -> [Int] {
        var depth = 0, side = size
        while side % 2 == 0 && side / 2 >= 4 && depth < 6 { side /= 2; depth += 1 }
        return Array([32, 64, 128, 256, 256, 256].prefix(Swift.max(depth, 1)))
    }
}
