// DecoderExport: a network's decoder as a list of plain operations with shapes, and its weights as one Float32 blob, for the explorer page's JavaScript.
import Foundation
import VAECore

/// One step of the decoder for one image, in the layout the Swift layers use with a batch of one:
/// planes (C, H, W) or a vector. Weights sit at `offset` floats into the blob, in PyTorch's layout
/// (Linear (out, in), Conv2d (out, in, k, k), ConvTranspose2d (in, out, k, k)), the bias after them.
public struct DecoderOp: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// flatten and unflatten are no-ops for one image: (C, 1, H, W) is (C·H·W) in nn.Flatten's order.
        case linear, conv, deconv, relu, silu, upsample, residual, reshape
    }
    public var op: Kind
    /// Input and output shapes, [C, H, W] (H = W = 1 for vectors).
    public var input: [Int]
    public var output: [Int]
    public var kernel: Int?
    public var stride: Int?
    public var padding: Int?
    /// ReLU fused into a linear or convolution layer; the activation inside a residual block ("relu" or "silu").
    public var relu: Bool?
    public var activation: String?
    public var offset: Int?
}

/// The decoder of a trained model, ready to be serialised for the browser.
public struct DecoderExport: Encodable, Sendable {
    public var latent: Int
    public var size: Int
    public var channels: Int
    public var likelihood: String
    /// Components of the logistic mixture (nil for the other likelihoods).
    public var mixtures: Int?
    public var ops: [DecoderOp]
    /// The Bernoulli pixels' autoregressive term: its kernel, hidden channels and where its
    /// weights start (in_weight, in_bias, out_weight, as AutoregressiveBernoulliLikelihood lays them out).
    public var autoregressive: AutoregressiveTerm?
    public struct AutoregressiveTerm: Codable, Equatable, Sendable {
        public var kernel, hidden, offset: Int
    }
    /// Floats in the weight blob.
    public var floats: Int

    /// The weights of `ops`, in order.
    public let weights: [Float]
    enum CodingKeys: String, CodingKey { case latent, size, channels, likelihood, mixtures, autoregressive, ops, floats }

    public init(model: Model) throws {
        let network = model.network, config = model.config
        (latent, size, channels, likelihood) = (config.latent, config.size, config.channels, config.likelihood.rawValue)
        mixtures = config.likelihood == .logistic ? config.mixtureCount : nil
        var ops: [DecoderOp] = [], weights: [Float] = []
        func dims(_ s: TensorShape) -> [Int] { [s.channels, s.height, s.width] }
        for l in network.decoder {
            let layer = l.layer
            var op = DecoderOp(op: .reshape, input: dims(layer.inputShape), output: dims(layer.outputShape))
            if layer.parameterCount > 0 {
                op.offset = weights.count
                weights += UnsafeBufferPointer(start: model.params.pointer + l.offset, count: layer.parameterCount)
            }
            switch layer {
            case let linear as Linear: (op.op, op.relu) = (.linear, linear.relu)
            case let conv as Conv2D:
                (op.op, op.relu) = (.conv, conv.relu)
                (op.kernel, op.stride, op.padding) = (conv.input.kernel, conv.input.stride, conv.input.padding)
            case let deconv as ConvTranspose2D:
                (op.op, op.relu) = (.deconv, deconv.relu)
                (op.kernel, op.stride, op.padding) = (deconv.output.kernel, deconv.output.stride, deconv.output.padding)
            case is ReLU: op.op = .relu
            case is SiLU: op.op = .silu
            case is Upsample: op.op = .upsample
            case let block as ResidualBlock: (op.op, op.activation) = (.residual, block.activation == .relu ? "relu" : "silu")
            case is Flatten, is Unflatten: op.op = .reshape
            default: throw ModelError("the explorer cannot run a \(type(of: layer)) layer (\(l.name))")
            }
            ops.append(op)
        }
        if let term = network.likelihood as? AutoregressiveBernoulliLikelihood {
            autoregressive = AutoregressiveTerm(kernel: term.kernel, hidden: term.hidden, offset: weights.count)
            weights += UnsafeBufferPointer(start: model.params.pointer + network.likelihoodOffset, count: term.parameterCount)
        }
        (self.ops, self.weights, floats) = (ops, weights, weights.count)
    }

    /// The weights as little-endian Float32 bytes, base64.
    public var weightsBase64: String {
        var bytes = [UInt8](), le = weights.map { $0.bitPattern.littleEndian }
        bytes.reserveCapacity(4 * le.count)
        le.withUnsafeBytes { bytes += $0 }
        return Data(bytes).base64EncodedString()
    }
}
