// ModelChoice: what `vae train`'s model flags ask for (a preset, or sizes), turned into a ModelConfig with the defaults.
import Foundation
import VAECore

public struct ModelChoice: Sendable {
    /// A reference model (ModelConfig.presets); the other fields override its values.
    public var preset: String?
    public var size: Int?, channels: Int?, latent: Int?, hidden: Int?
    public var widths: [Int]?
    public var likelihood: LikelihoodKind = .bernoulli
    /// σ of the Gaussian likelihood (its log is stored).
    public var gaussianScale: Float = 0.1
    public var learnScale = false
    /// Components of the logistic mixture (nil: the default).
    public var mixtures: Int?
    /// Soft clamp of the posterior heads (ModelConfig.latentClamp); nil or 0: none.
    public var latentClamp: Float?
    /// Components of a learned mixture prior (ModelConfig.priorMixture); nil or 0: N(0, I).
    public var priorMixture: Int?
    /// The pixels' autoregressive term (ModelConfig.autoregressive); nil: none.
    public var autoregressive: ModelConfig.Autoregressive?
    public var initialization: Initialization = .kaiming
    public var activation: Activation = .relu
    /// The family the sizes build: ModelConfig.plain or ModelConfig.resnet.
    public var architecture: Architecture = .plain

    public enum Architecture: String, Codable, Sendable, CaseIterable {
        /// 4×4 stride-2 convolutions down, transposed convolutions up (the presets, the PyTorch peer).
        case plain
        /// 3×3 stride-2 convolutions down and upsampling + 3×3 convolutions up, a residual block at each scale.
        case resnet

        /// The activation when none is asked for: ReLU for plain (the peer's); SiLU for resnet, as
        /// NVAE's residual cells (a smooth pre-activation passes gradient for negative inputs too).
        public var defaultActivation: Activation { self == .resnet ? .silu : .relu }
    }

    public init() {}

    /// A model described in a JSON file: a config.json's "model" section (block lists), or a
    /// whole config.json, whose model section is then taken.
    public static func read(file path: String) throws -> ModelConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError("\(path): cannot read the model file")
        }
        let config: ModelConfig
        do {
            if let run = try? JSONDecoder().decode(RunConfig.self, from: data) {
                config = run.model
            } else {
                config = try JSONDecoder().decode(ModelConfig.self, from: data)
            }
        } catch {
            throw ModelError("\(path): not a model description (\(Self.reason(error)))")
        }
        if let problem = config.problem { throw ModelError("\(path): \(problem)") }
        return config
    }

    /// The batch size of the run whose config.json `path` is (training.batch), or nil for a bare
    /// model section (or a file that is no config.json).
    public static func runBatch(file path: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONDecoder().decode(RunConfig.self, from: data))?.training.batch
    }

    /// DecodingError's cause in a few words, with the key path it happened at.
    static func reason(_ error: Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return keys.isEmpty ? "" : " at \(keys.hasPrefix(".") ? String(keys.dropFirst()) : keys)"
        }
        switch error as? DecodingError {
        case let .keyNotFound(key, context)?: return "'\(key.stringValue)' is missing\(path(context))"
        case let .typeMismatch(_, context)?, let .valueNotFound(_, context)?: return "wrong type\(path(context))"
        case let .dataCorrupted(context)?:
            return context.codingPath.isEmpty ? "not valid JSON" : "\(context.debugDescription)\(path(context))"
        default: return "\(error)"
        }
    }

    /// The plain (or residual) family with these sizes: 64×64 colour, latent 32 and as many convolutions as
    /// halve the side to 4–7 pixels, unless a preset or a flag says otherwise.
    public func config() throws -> ModelConfig {
        if let preset, ModelConfig.presets[preset] == nil {
            throw ModelError("unknown preset '\(preset)': use one of \(ModelConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        let base = preset.flatMap { ModelChoice.presetSizes[$0] }
        let size = self.size ?? base?.size ?? 64
        let widths = self.widths ?? (base != nil && self.size == nil ? base!.widths : Self.defaultWidths(size: size))
        if widths.count > 12 { throw ModelError("--widths takes at most 12 widths (each halves the side), not \(widths.count)") }
        // The plain family mirrors the encoder: the side must halve exactly at every convolution.
        let divisor = 1 << Swift.min(widths.count, 20)
        if size % divisor != 0 {
            let below = size / divisor * divisor, above = below + divisor
            let sizes = below == 0 ? "\(above) (or a multiple)" : "\(below) or \(above)"
            throw ModelError("image size \(size) is not divisible by \(divisor) (2^\(widths.count) for \(widths.count) "
                             + "convolutions): use --size \(sizes), or fewer --widths")
        }
        let family = architecture == .resnet ? ModelConfig.resnet : ModelConfig.plain
        var config = family(size, channels ?? base?.channels ?? 3, widths, hidden ?? base?.hidden, latent ?? base?.latent ?? 32,
                            likelihood, log(gaussianScale), learnScale, initialization, activation)
        if likelihood == .logistic { config.mixtures = mixtures ?? LogisticMixtureLikelihood.defaultMixtures }
        if let latentClamp, latentClamp > 0 { config.latentClamp = latentClamp }
        if let priorMixture, priorMixture > 0 { config.priorMixture = priorMixture }
        config.autoregressive = autoregressive
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
