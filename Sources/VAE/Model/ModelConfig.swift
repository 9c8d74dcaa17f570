// ModelConfig: the Codable description of a VAE as two block lists and a likelihood, saved in config.json.
import Foundation
import VAECore

public enum LikelihoodKind: String, Codable, Sendable, CaseIterable {
    /// Pixels in [0, 1] as Bernoulli probabilities: binary cross-entropy with logits.
    case bernoulli
    /// Pixels as Gaussian with the decoder's output as mean and one scale (fixed or learned).
    case gaussian
    /// 8-bit pixels as a discretized mixture of logistics (PixelCNN++, NVAE) with `mixtures` components.
    case logistic
}

/// How weights start (biases too, for PyTorch's scheme).
public enum Initialization: String, Codable, Sendable, CaseIterable {
    /// He-normal weights N(0, 2/fan_in), zero biases.
    case kaiming
    /// PyTorch's default: weights and biases uniform in ±1/√fan_in.
    case pytorch
}

public enum Activation: String, Codable, Sendable, CaseIterable {
    case relu, silu
}

/// One entry of a block list: a layer, the activation after it, and the PyTorch container its
/// parameters are named under.
public struct Block: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Convolution (kernel, stride, padding; default 4, 2, 1).
        case conv
        /// Transposed convolution (kernel, stride, padding; default 4, 2, 1).
        case deconv
        /// Fully connected layer; `channels` is its output features.
        case linear
        /// Planes to one vector per image.
        case flatten
        /// One vector per image to `channels` square planes.
        case unflatten
        /// Activations as blocks of their own.
        case relu, silu
        /// x + conv3×3(act(conv3×3(act(x)))), channels kept; `activation` is the one inside (default silu).
        case residual
        /// Nearest-neighbour ×2 enlargement of planes (follow it with a 3×3 convolution).
        case upsample
    }

    public var kind: Kind
    /// The PyTorch `nn.Sequential` this block belongs to: parameters are named "module.index.weight",
    /// the index counting the container's modules (an activation counts as one, as nn.ReLU does).
    /// nil: the block adds no module (as a `.view` reshape).
    public var module: String?
    /// Output channels (conv, deconv, unflatten) or features (linear). nil on the decoder's last
    /// layer: as many as the likelihood needs.
    public var channels: Int?
    public var kernel: Int?
    public var stride: Int?
    public var padding: Int?
    /// Applied after the layer; nil for none.
    public var activation: Activation?

    public init(_ kind: Kind, module: String? = nil, channels: Int? = nil, kernel: Int? = nil, stride: Int? = nil,
                padding: Int? = nil, activation: Activation? = nil) {
        (self.kind, self.module, self.channels, self.activation) = (kind, module, channels, activation)
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    }
}

public struct ModelConfig: Codable, Sendable, Equatable {
    /// Side of the square training images, in pixels.
    public var size: Int
    /// 1 (gray) or 3 (RGB).
    public var channels: Int
    public var latent: Int
    /// Image (planes) → one feature vector per image; the mean and log-variance heads follow.
    public var encoder: [Block]
    /// z → the likelihood's parameters as planes of the image's size.
    public var decoder: [Block]
    public var likelihood: LikelihoodKind = .bernoulli
    /// For the Gaussian likelihood: log σ, fixed unless `learnScale`.
    public var logScale: Float = log(0.1)
    public var learnScale: Bool = false
    public var initialization: Initialization = .kaiming
    /// For the logistic likelihood: the mixture's components (nil: LogisticMixtureLikelihood.defaultMixtures).
    public var mixtures: Int?
    /// The components a logistic likelihood has, the default filled in.
    public var mixtureCount: Int { mixtures ?? LogisticMixtureLikelihood.defaultMixtures }
    /// The posterior's mean is soft-clamped to ±b and its log σ to ±b (log-variance ±2b), b·tanh(x/b)
    /// (LatentClamp); nil: the heads' outputs are used as they are (gray defaults, presets, older runs).
    public var latentClamp: Float?
    /// p(z) as a mixture of this many diagonal Gaussians learned with the model (MixturePrior);
    /// nil: N(0, I) (older runs, presets, colour defaults).
    public var priorMixture: Int?
    /// Each pixel's Bernoulli logit also sees the pixels before it through a masked convolution
    /// (AutoregressiveBernoulliLikelihood); nil: pixels independent given z (older runs, presets).
    public var autoregressive: Autoregressive?

    /// The autoregressive term's shape: a `kernel`×`kernel` mask "A" and `channels` hidden units.
    public struct Autoregressive: Codable, Sendable, Equatable {
        public var kernel: Int
        public var channels: Int
        /// The kernel when no flag or file names one: the 12 pixels before the centre of a 5×5.
        public static let defaultKernel = 5
        public init(kernel: Int = defaultKernel, channels: Int) { (self.kernel, self.channels) = (kernel, channels) }
    }

    public init(size: Int, channels: Int, latent: Int, encoder: [Block], decoder: [Block],
                likelihood: LikelihoodKind = .bernoulli, logScale: Float = log(0.1), learnScale: Bool = false,
                initialization: Initialization = .kaiming) {
        (self.size, self.channels, self.latent, self.encoder, self.decoder) = (size, channels, latent, encoder, decoder)
        (self.likelihood, self.logScale, self.learnScale) = (likelihood, logScale, learnScale)
        self.initialization = initialization
    }

    /// The model family of the first sessions (and of the PyTorch peer): each of `widths` a 4×4
    /// stride-2 convolution with ReLU, an optional fully connected `hidden` layer, the heads, and a
    /// decoder that mirrors it with transposed convolutions. Names match the peer's state_dict.
    /// `activation` replaces ReLU everywhere (the peer and the presets use ReLU).
    public static func plain(size: Int, channels: Int, widths: [Int], hidden: Int?, latent: Int,
                             likelihood: LikelihoodKind = .bernoulli, logScale: Float = log(0.1),
                             learnScale: Bool = false, initialization: Initialization = .kaiming,
                             activation: Activation = .relu) -> ModelConfig {
        let top = widths.last ?? channels, bottom = size >> widths.count
        // Sizes may come from a damaged config.json: an overflowing product becomes 0 features,
        // which NetworkPlan then refuses with the block named.
        let (plane, o1) = bottom.multipliedReportingOverflow(by: bottom), (product, o2) = top.multipliedReportingOverflow(by: plane)
        let flat = o1 || o2 || product < 0 ? 0 : product
        func conv(_ kind: Block.Kind, _ module: String, _ channels: Int?, relu: Bool) -> Block {
            Block(kind, module: module, channels: channels, kernel: 4, stride: 2, padding: 1, activation: relu ? activation : nil)
        }
        var encoder = widths.map { conv(.conv, "enc", $0, relu: true) } + [Block(.flatten, module: "enc")]
        var decoder: [Block] = []
        if let hidden {
            encoder.append(Block(.linear, module: "enc_fc", channels: hidden, activation: activation))
            decoder.append(Block(.linear, module: "dec_fc", channels: hidden, activation: activation))
        }
        decoder.append(Block(.linear, module: "dec_fc", channels: flat, activation: activation))
        decoder.append(Block(.unflatten, channels: top))
        let reversed = Array(widths.reversed())
        for i in reversed.indices {
            let last = i + 1 == reversed.count
            decoder.append(conv(.deconv, "dec", last ? nil : reversed[i + 1], relu: !last))
        }
        return ModelConfig(size: size, channels: channels, latent: latent, encoder: encoder, decoder: decoder,
                           likelihood: likelihood, logScale: logScale, learnScale: learnScale,
                           initialization: initialization)
    }

    /// The two reference configurations (README, "Results"): the plain family at Fashion-MNIST's 28×28
    /// gray and at 64×64 colour, with the PyTorch state_dict names of python/vae_model.py.
    public static let presets: [String: ModelConfig] = ModelChoice.presetSizes.mapValues {
        .plain(size: $0.size, channels: $0.channels, widths: $0.widths, hidden: $0.hidden, latent: $0.latent)
    }
    public static let presetBatch: [String: Int] = ["fmnist": 128, "rgb64": 64]

    public var imageFloats: Int { channels * size * size }

    /// The model's own prior as messages name it: "N(0, I)" or "the learned prior (K components)".
    public var ownPriorName: String {
        priorMixture.map { "the learned prior (\($0) component\($0 == 1 ? "" : "s"))" } ?? Self.standardPriorName
    }

    public static let standardPriorName = "N(0, I)"


    /// The most components a learned prior may have (each costs 2·latent + 1 parameters and a
    /// log-density per image per step).
    public static let maximumPriorMixture = 1024

    /// Why this configuration cannot be built, or nil when it can.
    public var problem: String? {
        if let latentClamp, !(latentClamp.isFinite && latentClamp >= 0.1 && latentClamp <= 1000) {
            return "latentClamp \(latentClamp) must be between 0.1 and 1000 (or absent: no clamp)"
        }
        if let priorMixture, !(1...ModelConfig.maximumPriorMixture).contains(priorMixture) {
            return "priorMixture \(priorMixture) must be between 1 and \(ModelConfig.maximumPriorMixture) components (or absent: N(0, I))"
        }
        do {
            _ = try NetworkPlan(config: self)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// One line for logs: "conv 32,64 · linear 256 | latent 16 | linear 256,3136 · deconv 32,1 · bernoulli".
    public var summary: String {
        func describe(_ blocks: [Block]) -> String {
            var parts: [(String, [String])] = []
            for b in blocks where ![.flatten, .unflatten].contains(b.kind) {
                let value = b.channels.map(String.init) ?? ([.relu, .silu, .upsample, .residual].contains(b.kind) ? "" : "out")
                let name = b.kind.rawValue + (b.kind == .conv || b.kind == .deconv ? "\(b.kernel ?? 4)x\(b.kernel ?? 4)" : "")
                if let lastName = parts.last?.0, lastName == name { parts[parts.count - 1].1.append(value) }
                else { parts.append((name, [value])) }
            }
            return parts.map { $0.1.allSatisfy(\.isEmpty) ? $0.0 : "\($0.0) \($0.1.joined(separator: ","))" }.joined(separator: " · ")
        }
        return "\(describe(encoder)) → latent \(latent)" + (latentClamp.map { " (clamped ±\(String(format: "%g", $0)))" } ?? "")
            + (priorMixture.map { ", prior learned: \($0) Gaussian\($0 == 1 ? "" : "s")" } ?? "")
            + " → \(describe(decoder)) → \(likelihood.rawValue)"
            + (likelihood == .logistic ? " ×\(mixtureCount)" : "")
            + (autoregressive.map { ", autoregressive \($0.kernel)×\($0.kernel) " + ($0.channels == 0 ? "linear" : "×\($0.channels)") } ?? "")
    }

    // MARK: config.json

    enum CodingKeys: String, CodingKey {
        case size, channels, latent, encoder, decoder, likelihood, logScale, learnScale, initialization
        case mixtures, latentClamp, priorMixture, autoregressive
    }

    /// The keys of config.json files written before block lists (the plain family, described by
    /// its widths), still read so that old run folders load, sample, evaluate and resume.
    enum LegacyKeys: String, CodingKey {
        case widths, hidden, initialization, kernel, stride, padding
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let size = try c.decode(Int.self, forKey: .size), channels = try c.decode(Int.self, forKey: .channels)
        let latent = try c.decode(Int.self, forKey: .latent)
        let likelihood = try c.decodeIfPresent(LikelihoodKind.self, forKey: .likelihood) ?? .bernoulli
        let logScale = try c.decodeIfPresent(Float.self, forKey: .logScale) ?? log(0.1)
        let learnScale = try c.decodeIfPresent(Bool.self, forKey: .learnScale) ?? false
        if c.contains(.encoder) {
            self.init(size: size, channels: channels, latent: latent,
                      encoder: try c.decode([Block].self, forKey: .encoder),
                      decoder: try c.decode([Block].self, forKey: .decoder), likelihood: likelihood,
                      logScale: logScale, learnScale: learnScale,
                      initialization: try c.decodeIfPresent(Initialization.self, forKey: .initialization) ?? .kaiming)
            mixtures = try c.decodeIfPresent(Int.self, forKey: .mixtures)
            latentClamp = try c.decodeIfPresent(Float.self, forKey: .latentClamp)
            priorMixture = try c.decodeIfPresent(Int.self, forKey: .priorMixture)
            autoregressive = try c.decodeIfPresent(Autoregressive.self, forKey: .autoregressive)
            return
        }
        let legacy = try decoder.container(keyedBy: LegacyKeys.self)
        let widths = try legacy.decode([Int].self, forKey: .widths)
        // Before block lists an absent initialisation meant PyTorch's scheme.
        let initialization = try legacy.decodeIfPresent(Initialization.self, forKey: .initialization) ?? .pytorch
        for key in [LegacyKeys.kernel, .stride, .padding] {
            if let value = try legacy.decodeIfPresent(Int.self, forKey: key), value != (key == .kernel ? 4 : key == .stride ? 2 : 1) {
                throw DecodingError.dataCorruptedError(forKey: key, in: legacy,
                                                       debugDescription: "only kernel 4, stride 2, padding 1 existed")
            }
        }
        self = .plain(size: size, channels: channels, widths: widths,
                      hidden: try legacy.decodeIfPresent(Int.self, forKey: .hidden), latent: latent,
                      likelihood: likelihood, logScale: logScale, learnScale: learnScale, initialization: initialization)
    }
}
