// Workspace: every activation, column buffer and gradient one thread needs for a batch, allocated once.
import VAECore

public final class Workspace: @unchecked Sendable {
    public let capacity: Int
    /// The input in channel-major layout (C, B, H, W); only used when C > 1.
    let inputCBHW: Buffer
    let encoderColumns: [Buffer], encoderOutputs: [Buffer], encoderGrads: [Buffer]
    let flat: Buffer, flatGrad: Buffer
    let hidden: Buffer?, hiddenGrad: Buffer?
    public let mean: Buffer, logVariance: Buffer, eps: Buffer, z: Buffer
    let meanGrad: Buffer, logVarianceGrad: Buffer, zGrad: Buffer
    let denseOutputs: [Buffer], denseGrads: [Buffer]
    let decoderInput: Buffer, decoderInputGrad: Buffer
    let decoderColumns: [Buffer], decoderOutputs: [Buffer], decoderGrads: [Buffer]
    /// The decoder's output per image (B, C, H, W): Bernoulli logits or Gaussian means.
    public let logits: Buffer
    let logitsGrad: Buffer
    /// Per-image reconstruction NLL and KL of the last forward pass, in nats.
    public var reconstruction: [Double], kl: [Double]
    /// This thread's gradient, summed over its images.
    public let grads: Buffer
    public let profiler = Profiler()

    public init(network: Network, capacity: Int) {
        self.capacity = capacity
        let B = capacity, cfg = network.config
        inputCBHW = Buffer(count: cfg.channels > 1 ? B * cfg.imageFloats : 0)
        encoderColumns = network.encoder.map { Buffer(count: $0.op.columnCount(batch: B)) }
        encoderOutputs = network.encoder.map { Buffer(count: $0.op.outputCount(batch: B)) }
        encoderGrads = network.encoder.map { Buffer(count: $0.op.outputCount(batch: B)) }
        flat = Buffer(count: B * cfg.flatFeatures)
        flatGrad = Buffer(count: B * cfg.flatFeatures)
        hidden = network.encoderHidden.map { Buffer(count: B * $0.op.outFeatures) }
        hiddenGrad = network.encoderHidden.map { Buffer(count: B * $0.op.outFeatures) }
        (mean, logVariance, eps, z) = (Buffer(count: B * cfg.latent), Buffer(count: B * cfg.latent),
                                       Buffer(count: B * cfg.latent), Buffer(count: B * cfg.latent))
        (meanGrad, logVarianceGrad, zGrad) = (Buffer(count: B * cfg.latent), Buffer(count: B * cfg.latent),
                                              Buffer(count: B * cfg.latent))
        denseOutputs = network.decoderDense.map { Buffer(count: B * $0.op.outFeatures) }
        denseGrads = network.decoderDense.map { Buffer(count: B * $0.op.outFeatures) }
        decoderInput = Buffer(count: B * cfg.flatFeatures)
        decoderInputGrad = Buffer(count: B * cfg.flatFeatures)
        decoderColumns = network.decoder.map { Buffer(count: $0.op.columnCount(batch: B)) }
        decoderOutputs = network.decoder.map { Buffer(count: $0.op.outputCount(batch: B)) }
        decoderGrads = network.decoder.map { Buffer(count: $0.op.outputCount(batch: B)) }
        // With one channel (C, B, H, W) and (B, C, H, W) coincide: no copies needed.
        logits = cfg.channels > 1 ? Buffer(count: B * cfg.imageFloats) : decoderOutputs.last!
        logitsGrad = cfg.channels > 1 ? Buffer(count: B * cfg.imageFloats) : decoderGrads.last!
        reconstruction = [Double](repeating: 0, count: B)
        kl = [Double](repeating: 0, count: B)
        grads = Buffer(count: network.parameterCount)
    }
}

/// dst[b][c][p] = src[c][b][p]: channel-major (C, B, P) to image-major (B, C, P).
@inline(__always)
func channelMajorToImageMajor(_ src: UnsafePointer<Float>, _ dst: FloatPointer, channels: Int, batch: Int, plane: Int) {
    for c in 0..<channels {
        for b in 0..<batch {
            (dst + (b * channels + c) * plane).update(from: src + (c * batch + b) * plane, count: plane)
        }
    }
}

/// dst[c][b][p] = src[b][c][p]: image-major (B, C, P) to channel-major (C, B, P).
@inline(__always)
func imageMajorToChannelMajor(_ src: UnsafePointer<Float>, _ dst: FloatPointer, channels: Int, batch: Int, plane: Int) {
    for c in 0..<channels {
        for b in 0..<batch {
            (dst + (c * batch + b) * plane).update(from: src + (b * channels + c) * plane, count: plane)
        }
    }
}
