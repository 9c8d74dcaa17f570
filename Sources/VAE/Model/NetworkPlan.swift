// NetworkPlan: a ModelConfig's block lists turned into named layers with chained shapes, or the reason they cannot be.
import VAECore

/// Why a model description cannot be built: one line naming the block and the cause.
public struct ModelError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A layer of the network with its name (the parameter prefix, "enc.0") and place in the parameter buffer.
public struct NetworkLayer: Sendable {
    public var name: String
    public var layer: any Layer
    /// Offset of its first parameter in the flat buffer (its tensors follow in declaration order).
    public var offset: Int
}

/// The layers a configuration describes, checked and shaped, without any memory for weights.
struct NetworkPlan {
    var encoder: [(name: String, layer: any Layer)] = []
    var decoder: [(name: String, layer: any Layer)] = []
    var features = 0
    var likelihood: any Likelihood

    /// Bounds on what a config.json may ask for, so that a damaged or hostile file gives a message
    /// instead of an overflow or an allocation of terabytes.
    static let maxChannels = 1 << 16, maxSide = 1 << 14, maxBlocks = 256, maxKernel = 64
    static let maxFloatsPerImage = 1 << 28, maxParameters = 1 << 28

    init(config: ModelConfig) throws {
        switch config.likelihood {
        case .bernoulli: likelihood = BernoulliLikelihood()
        case .gaussian:
            guard config.logScale.isFinite, abs(config.logScale) < 20 else {
                throw ModelError("the Gaussian log-scale \(config.logScale) is out of range")
            }
            likelihood = GaussianLikelihood(logScale: config.logScale, learnScale: config.learnScale)
        case .logistic:
            let mixtures = config.mixtureCount
            guard (1...LogisticMixtureLikelihood.maxMixtures).contains(mixtures) else {
                throw ModelError("\(mixtures) mixture components is out of range (1–\(LogisticMixtureLikelihood.maxMixtures))")
            }
            likelihood = LogisticMixtureLikelihood(mixtures: mixtures)
        }
        if let term = config.autoregressive {
            guard config.likelihood == .bernoulli else {
                throw ModelError("the autoregressive term works with the bernoulli likelihood only, not \(config.likelihood.rawValue)")
            }
            guard AutoregressiveBernoulliLikelihood.kernelRange.contains(term.kernel), term.kernel % 2 == 1 else {
                throw ModelError("the autoregressive kernel \(term.kernel) must be odd, \(AutoregressiveBernoulliLikelihood.kernelRange.lowerBound)–\(AutoregressiveBernoulliLikelihood.kernelRange.upperBound)")
            }
            guard (0...AutoregressiveBernoulliLikelihood.maximumHidden).contains(term.channels) else {
                throw ModelError("the autoregressive term's \(term.channels) channels are out of range (0–\(AutoregressiveBernoulliLikelihood.maximumHidden))")
            }
            likelihood = AutoregressiveBernoulliLikelihood(kernel: term.kernel, hidden: term.channels, channels: config.channels)
        }
        guard (1...Self.maxSide).contains(config.size) else { throw ModelError("image size \(config.size) is out of range (1–\(Self.maxSide))") }
        guard [1, 3].contains(config.channels) else { throw ModelError("channels must be 1 or 3, not \(config.channels)") }
        guard (1...Self.maxChannels).contains(config.latent) else {
            throw ModelError("the latent size \(config.latent) is out of range (1–\(Self.maxChannels))")
        }
        guard !config.encoder.isEmpty, !config.decoder.isEmpty else { throw ModelError("the encoder and decoder need at least one block each") }
        guard config.encoder.count + config.decoder.count <= Self.maxBlocks else {
            throw ModelError("\(config.encoder.count + config.decoder.count) blocks is more than \(Self.maxBlocks)")
        }
        var counters: [String: Int] = [:]
        let image = TensorShape(channels: config.channels, height: config.size, width: config.size)
        var shape = image
        for (i, block) in config.encoder.enumerated() {
            let made = try Self.layers(for: block, input: shape, output: block.channels, counters: &counters,
                                       where: "encoder block \(i + 1)")
            encoder += made
            shape = made.last!.layer.outputShape
        }
        guard shape.isFlat else {
            throw ModelError("the encoder ends in planes (\(shape)); end it with a flatten block (and linear blocks)")
        }
        features = shape.channels
        shape = TensorShape(features: config.latent)
        let outputChannels = likelihood.outputChannels(imageChannels: config.channels)
        for (i, block) in config.decoder.enumerated() {
            let last = i + 1 == config.decoder.count
            guard block.channels != nil || last || [.flatten, .relu, .silu, .residual, .upsample].contains(block.kind) else {
                throw ModelError("decoder block \(i + 1) (\(block.kind.rawValue)) needs channels")
            }
            let made = try Self.layers(for: block, input: shape, output: block.channels ?? outputChannels,
                                       counters: &counters, where: "decoder block \(i + 1)")
            decoder += made
            shape = made.last!.layer.outputShape
        }
        let expected = TensorShape(channels: outputChannels, height: config.size, width: config.size)
        guard shape == expected else {
            throw ModelError("the decoder ends in \(shape), but the \(config.likelihood.rawValue) likelihood of "
                             + "\(config.size)×\(config.size)×\(config.channels) images needs \(expected)")
        }
        var parameters = 0
        for (_, layer) in encoder + decoder {
            parameters += layer.parameterCount
            guard parameters <= Self.maxParameters else { throw ModelError("the model has more than \(Self.maxParameters) parameters") }
        }
        parameters += 2 * (features * config.latent + config.latent)
        guard parameters <= Self.maxParameters else { throw ModelError("the model has more than \(Self.maxParameters) parameters") }
        var names = Set(["mu.weight", "mu.bias", "logvar.weight", "logvar.bias"] + likelihood.parameters.map(\.name))
        for (name, layer) in encoder + decoder {
            for p in layer.parameters {
                let full = name.isEmpty ? p.name : name + "." + p.name
                guard names.insert(full).inserted else {
                    throw ModelError("two parameters would be named '\(full)': give the blocks with weights a module")
                }
            }
        }
    }

    /// The layers one block makes after an input of `input`: the layer, then its activation unless
    /// the layer applies ReLU itself. Names count modules per container, as nn.Sequential does.
    static func layers(for block: Block, input: TensorShape, output: Int?, counters: inout [String: Int],
                       where place: String) throws -> [(name: String, layer: any Layer)] {
        func name() -> String {
            guard let module = block.module else { return "" }
            defer { counters[module, default: 0] += 1 }
            return "\(module).\(counters[module, default: 0])"
        }
        func fail(_ reason: String) -> ModelError { ModelError("\(place) (\(block.kind.rawValue)): \(reason)") }
        // A linear layer's features can be a whole flattened image; planes' channels are fewer.
        let most = block.kind == .linear ? maxFloatsPerImage : maxChannels
        func outChannels() throws -> Int {
            guard let output, (1...most).contains(output) else {
                throw fail("channels \(output.map(String.init) ?? "missing") out of range (1–\(most))")
            }
            return output
        }
        func convShape(planes: TensorShape) throws -> ConvShape {
            guard !planes.isFlat else { throw fail("follows a flat vector of \(planes.channels); it needs planes (unflatten first)") }
            let k = block.kernel ?? 4, s = block.stride ?? 2, p = block.padding ?? 1
            guard (1...maxKernel).contains(k), (1...maxKernel).contains(s), (0..<k).contains(p) else {
                throw fail("kernel \(k), stride \(s), padding \(p) out of range (kernel and stride 1–\(maxKernel), padding below the kernel)")
            }
            return ConvShape(channels: planes.channels, height: planes.height, width: planes.width, kernel: k, stride: s,
                             padding: p)
        }
        let fusesReLU = block.activation == .relu
        var layer: any Layer
        let layerName = name()
        switch block.kind {
        case .conv:
            let c = try convShape(planes: input), out = try outChannels()
            guard c.height + 2 * c.padding >= c.kernel, c.width + 2 * c.padding >= c.kernel else {
                throw fail("a \(c.kernel)×\(c.kernel) kernel does not fit \(input)")
            }
            layer = Conv2D(inChannels: c.channels, outChannels: out, height: c.height, width: c.width, kernel: c.kernel,
                           stride: c.stride, padding: c.padding, relu: fusesReLU)
        case .deconv:
            let c = try convShape(planes: input), out = try outChannels()
            let side = (c.height - 1) * c.stride - 2 * c.padding + c.kernel
            guard side >= 1, side <= maxSide else { throw fail("would make planes of side \(side)") }
            layer = ConvTranspose2D(inChannels: c.channels, outChannels: out, height: c.height, width: c.width,
                                    kernel: c.kernel, stride: c.stride, padding: c.padding, relu: fusesReLU)
        case .linear:
            guard input.isFlat else { throw fail("follows planes (\(input)); flatten them first") }
            layer = Linear(inFeatures: input.channels, outFeatures: try outChannels(), relu: fusesReLU)
        case .flatten:
            guard !input.isFlat else { throw fail("the input is already flat") }
            layer = Flatten(input: input)
        case .unflatten:
            guard input.isFlat else { throw fail("the input is not flat") }
            let c = try outChannels(), plane = input.channels / c
            let side = Int(Double(plane).squareRoot().rounded())
            guard input.channels % c == 0, side * side == plane else {
                throw fail("\(input.channels) features do not make \(c) square planes")
            }
            layer = Unflatten(output: TensorShape(channels: c, height: side, width: side))
        case .relu: layer = ReLU(shape: input)
        case .silu: layer = SiLU(shape: input)
        case .residual:
            guard !input.isFlat else { throw fail("follows a flat vector of \(input.channels); it needs planes (unflatten first)") }
            if let c = block.channels, c != input.channels {
                throw fail("keeps its input's \(input.channels) channels; it cannot make \(c)")
            }
            layer = ResidualBlock(channels: input.channels, height: input.height, width: input.width,
                                  activation: block.activation == .relu ? .relu : .silu)
        case .upsample:
            guard !input.isFlat else { throw fail("follows a flat vector of \(input.channels); it needs planes (unflatten first)") }
            guard 2 * input.height <= maxSide else { throw fail("would make planes of side \(2 * input.height)") }
            layer = Upsample(input: input)
        }
        guard layer.outputShape.count <= maxFloatsPerImage, layer.outputShape.height >= 1 else {
            throw fail("its output \(layer.outputShape) is too large")
        }
        var made: [(name: String, layer: any Layer)] = [(layerName, layer)]
        // A residual block's activation is the one inside it.
        if block.kind == .residual { return made }
        switch block.activation {
        case nil: break
        case .relu:
            // Fused into the layers that can apply it in their own pass; a module index all the same.
            let activationName = name()
            if !(layer is Conv2D || layer is ConvTranspose2D || layer is Linear) {
                made.append((activationName, ReLU(shape: layer.outputShape)))
            }
        case .silu: made.append((name(), SiLU(shape: layer.outputShape)))
        }
        return made
    }
}
