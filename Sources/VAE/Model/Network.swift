// Network: the layer list a ModelConfig describes, each layer's place in the one flat parameter buffer.
import VAECore

/// encoder layers → the mean and log-variance heads → z → decoder layers → the likelihood.
public struct Network: Sendable {
    public let config: ModelConfig
    public let layout: ParameterLayout
    /// Image planes (C, B, H, W) → one feature vector per image.
    public let encoder: [NetworkLayer]
    /// The two heads of q(z|x) read the same features; typed Linear so that the second can add
    /// its input gradient to the first's.
    public let meanHead: Linear, logVarianceHead: Linear
    public let meanOffset: Int, logVarianceOffset: Int
    /// z → the likelihood's parameters as planes (outputShape).
    public let decoder: [NetworkLayer]
    public let likelihood: any Likelihood
    public let likelihoodOffset: Int
    /// p(z) when it is learned (`config.priorMixture`); nil: N(0, I). Its parameters come last.
    public let prior: MixturePrior?
    public let priorOffset: Int
    /// The decoder's output per image, which the likelihood reads.
    public let outputShape: TensorShape
    public var imageShape: TensorShape { TensorShape(channels: config.channels, height: config.size, width: config.size) }

    /// Builds the network; the configuration must be valid (`config.problem == nil`).
    public init(config: ModelConfig) {
        let plan: NetworkPlan
        do { plan = try NetworkPlan(config: config) } catch { preconditionFailure("\(error)") }
        self.config = config
        var layout = ParameterLayout()
        func place(_ named: [(name: String, layer: any Layer)]) -> [NetworkLayer] {
            named.map { NetworkLayer(name: $0.name, layer: $0.layer, offset: layout.add($0.layer.parameters, prefix: $0.name)) }
        }
        encoder = place(plan.encoder)
        meanHead = Linear(inFeatures: plan.features, outFeatures: config.latent)
        logVarianceHead = meanHead
        meanOffset = layout.add(meanHead.parameters, prefix: "mu")
        logVarianceOffset = layout.add(logVarianceHead.parameters, prefix: "logvar")
        decoder = place(plan.decoder)
        likelihood = plan.likelihood
        likelihoodOffset = layout.add(likelihood.parameters, prefix: "")
        prior = config.priorMixture.map { MixturePrior(components: $0, dimension: config.latent) }
        priorOffset = layout.add(prior?.parameters ?? [], prefix: "prior")
        outputShape = decoder.last!.layer.outputShape
        self.layout = layout
    }

    public var parameterCount: Int { layout.count }

    /// Multiply-adds of one image's forward pass (encoder and decoder), for GFLOP/s figures.
    public var forwardMultiplyAdds: Int {
        (encoder + decoder).reduce(0) { $0 + $1.layer.multiplyAdds } + 2 * meanHead.multiplyAdds
    }

    /// The convolution and transposed-convolution layers, and the residual blocks (two convolutions
    /// each), in order.
    public var convolutionLayers: [NetworkLayer] {
        (encoder + decoder).filter { $0.layer is Conv2D || $0.layer is ConvTranspose2D || $0.layer is ResidualBlock }
    }

    /// Multiply-adds of the convolution and transposed-convolution layers in one image's training
    /// step: forward, weight gradient and input gradient (the first layer's input gradient is not
    /// computed). `vae bench --profile --gemm` divides it by those layers' time.
    public var convolutionTrainingMultiplyAdds: Int {
        let total = convolutionLayers.reduce(0) { $0 + $1.layer.multiplyAdds }
        let first = encoder.first.map { l -> Int in
            if let block = l.layer as? ResidualBlock { return block.conv1.multiplyAdds }
            return l.layer is Conv2D ? l.layer.multiplyAdds : 0
        } ?? 0
        return 3 * total - first
    }

    /// Fills the parameters by `config.initialization`, one random stream per tensor (its index):
    /// He-normal weights N(0, 2/fan_in) with zero biases, or PyTorch's default, weights and biases
    /// uniform in ±1/√fan_in (Kaiming-uniform with a = √5 gives exactly this bound).
    public func initialize(_ params: Buffer, seed: UInt64) {
        for (index, tensor) in layout.tensors.enumerated() {
            let target = params.pointer + tensor.offset
            if case let .constant(value) = tensor.role {
                target.update(repeating: value, count: tensor.count)
                continue
            }
            let stream = RandomStream(seed: seed, purpose: .initialization, detail: UInt64(index))
            if case let .normal(std) = tensor.role {
                stream.fillNormal(target, count: tensor.count)
                for i in 0..<tensor.count { target[i] *= std }
                continue
            }
            switch config.initialization {
            case .kaiming where tensor.role == .bias:
                target.update(repeating: 0, count: tensor.count)
            case .kaiming:
                let std = (2 / Float(tensor.fanIn)).squareRoot()
                stream.fillNormal(target, count: tensor.count)
                for i in 0..<tensor.count { target[i] *= std }
            case .pytorch:
                let bound = 1 / Float(tensor.fanIn).squareRoot()
                stream.fillUniform(target, count: tensor.count, low: -bound, high: bound)
            }
        }
    }
}
