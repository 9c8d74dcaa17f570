// Network: the layer stack a ModelConfig derives, with each layer's place in the parameter buffer.
import VAECore

public struct Network: Sendable {
    public struct ConvLayer: Sendable { public var name: String; public var op: Conv2D; public var weight, bias: Int }
    public struct DeconvLayer: Sendable { public var name: String; public var op: ConvTranspose2D; public var weight, bias: Int }
    public struct DenseLayer: Sendable { public var name: String; public var op: Linear; public var weight, bias: Int }

    public let config: ModelConfig
    public let layout: ParameterLayout
    public let encoder: [ConvLayer]
    /// The optional fully connected layer after flattening (ReLU).
    public let encoderHidden: DenseLayer?
    public let meanHead: DenseLayer
    public let logVarianceHead: DenseLayer
    /// Fully connected layers from z up to the flattened bottom of the decoder, each with ReLU.
    public let decoderDense: [DenseLayer]
    /// Transposed convolutions, ReLU after all but the last (whose output is the logits or mean).
    public let decoder: [DeconvLayer]
    /// Offset of the learned Gaussian log-scale, when the configuration learns one.
    public let logScaleOffset: Int?

    public init(config: ModelConfig) {
        precondition(config.problem == nil, config.problem ?? "")
        self.config = config
        var layout = ParameterLayout()
        let k = config.kernel, s = config.stride, p = config.padding
        func dense(_ name: String, _ inF: Int, _ outF: Int) -> DenseLayer {
            let w = layout.add(name + ".weight", [outF, inF], fanIn: inF)
            let b = layout.add(name + ".bias", [outF], fanIn: inF)
            return DenseLayer(name: name, op: Linear(inFeatures: inF, outFeatures: outF), weight: w, bias: b)
        }
        var convs: [ConvLayer] = []
        var c = config.channels, side = config.size
        for (i, width) in config.widths.enumerated() {
            let name = "enc.\(2 * i)"
            let w = layout.add(name + ".weight", [width, c, k, k], fanIn: c * k * k)
            let b = layout.add(name + ".bias", [width], fanIn: c * k * k)
            convs.append(ConvLayer(name: name, op: Conv2D(inChannels: c, outChannels: width, height: side, width: side,
                                                          kernel: k, stride: s, padding: p), weight: w, bias: b))
            c = width
            side /= 2
        }
        encoder = convs
        let flat = config.flatFeatures
        var features = flat
        if let hidden = config.hidden {
            encoderHidden = dense("enc_fc.0", flat, hidden)
            features = hidden
        } else {
            encoderHidden = nil
        }
        meanHead = dense("mu", features, config.latent)
        logVarianceHead = dense("logvar", features, config.latent)
        if let hidden = config.hidden {
            decoderDense = [dense("dec_fc.0", config.latent, hidden), dense("dec_fc.2", hidden, flat)]
        } else {
            decoderDense = [dense("dec_fc.0", config.latent, flat)]
        }
        var deconvs: [DeconvLayer] = []
        let reversed = Array(config.widths.reversed())
        for (i, width) in reversed.enumerated() {
            let out = i + 1 < reversed.count ? reversed[i + 1] : config.channels
            let name = "dec.\(2 * i)"
            // PyTorch's ConvTranspose2d weight is (in, out, k, k) and its fan_in is out·k·k.
            let w = layout.add(name + ".weight", [width, out, k, k], fanIn: out * k * k)
            let b = layout.add(name + ".bias", [out], fanIn: out * k * k)
            deconvs.append(DeconvLayer(name: name, op: ConvTranspose2D(inChannels: width, outChannels: out, height: side,
                                                                       width: side, kernel: k, stride: s, padding: p),
                                       weight: w, bias: b))
            side *= 2
        }
        decoder = deconvs
        logScaleOffset = config.likelihood == .gaussian && config.learnScale
            ? layout.add("log_scale", [1], fanIn: 1) : nil
        self.layout = layout
    }

    public var parameterCount: Int { layout.count }

    /// Multiply-adds of one image's forward pass (encoder and decoder), for GFLOP/s figures.
    public var forwardMultiplyAdds: Int {
        var total = convolutionMultiplyAdds.reduce(0, +)
        for l in [encoderHidden, meanHead, logVarianceHead].compactMap({ $0 }) + decoderDense { total += l.op.weightCount }
        return total
    }

    /// Forward multiply-adds per image of each convolution, then each transposed convolution,
    /// in order: weights × the pixels of the smaller side (a convolution's output, a transposed
    /// convolution's input).
    var convolutionMultiplyAdds: [Int] {
        encoder.map { $0.op.weightCount * $0.op.input.outHeight * $0.op.input.outWidth }
            + decoder.map { $0.op.weightCount * $0.op.output.outHeight * $0.op.output.outWidth }
    }

    /// Multiply-adds of the convolution and transposed-convolution layers in one image's training
    /// step: forward, weight gradient and input gradient (the first layer's input gradient is not
    /// computed). `vae bench --profile --gemm` divides it by those layers' time.
    public var convolutionTrainingMultiplyAdds: Int {
        let perLayer = convolutionMultiplyAdds
        return 3 * perLayer.reduce(0, +) - (perLayer.first ?? 0)
    }

    /// PyTorch's default initialisation: every weight and bias uniform in ±1/sqrt(fan_in)
    /// (Kaiming-uniform with a = √5 gives exactly this bound), one random stream per tensor.
    public func initialize(_ params: Buffer, seed: UInt64) {
        for (index, tensor) in layout.tensors.enumerated() {
            let target = params.pointer + tensor.offset
            if tensor.name == "log_scale" { target[0] = config.logScale; continue }
            let stream = RandomStream(seed: seed, purpose: .initialization, detail: UInt64(index))
            if config.initialization == "kaiming" {
                if tensor.shape.count == 1 {
                    target.update(repeating: 0, count: tensor.count)
                } else {
                    let std = (2 / Float(tensor.fanIn)).squareRoot()
                    stream.fillNormal(target, count: tensor.count)
                    for i in 0..<tensor.count { target[i] *= std }
                }
            } else {
                let bound = 1 / Float(tensor.fanIn).squareRoot()
                stream.fillUniform(target, count: tensor.count, low: -bound, high: bound)
            }
        }
    }

    /// log σ of the Gaussian likelihood under `params`.
    public func logScale(_ params: UnsafePointer<Float>) -> Float {
        if let logScaleOffset { return params[logScaleOffset] }
        return config.logScale
    }
}
