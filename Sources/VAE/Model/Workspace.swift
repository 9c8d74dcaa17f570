// Workspace: every activation, gradient and the shared scratch one thread needs for a batch, allocated once from the layer list.
import VAECore

public final class Workspace: @unchecked Sendable {
    public let capacity: Int
    /// The input in channel-major layout (C, B, H, W); only used when C > 1.
    let inputCBHW: Buffer
    /// Each encoder and decoder layer's output and the gradient with respect to it.
    let encoderOutputs: [Buffer], encoderGrads: [Buffer]
    public let mean: Buffer, logVariance: Buffer, eps: Buffer, z: Buffer
    let meanGrad: Buffer, logVarianceGrad: Buffer, zGrad: Buffer
    let decoderOutputs: [Buffer], decoderGrads: [Buffer]
    /// Each layer's own state kept from forward for backward (`savedCount`; empty for most).
    let encoderSaved: [Buffer], decoderSaved: [Buffer]
    /// The decoder's output image-major, (B, C', H, W), as the likelihood reads it: Bernoulli
    /// logits or Gaussian means.
    public let logits: Buffer
    let logitsGrad: Buffer
    /// One buffer for every layer's column matrix (darknet's shared workspace), sized to the largest need.
    let scratch: Buffer
    /// Per-image reconstruction NLL and KL of the last forward pass, in nats.
    public var reconstruction: [Double], kl: [Double]
    /// This thread's gradient, summed over its images.
    public let grads: Buffer
    public let profiler = Profiler()

    public init(network: Network, capacity: Int) {
        self.capacity = capacity
        let B = capacity, cfg = network.config
        inputCBHW = Buffer(count: cfg.channels > 1 ? B * cfg.imageFloats : 0)
        func activations(_ layers: [NetworkLayer]) -> [Buffer] { layers.map { Buffer(count: B * $0.layer.outputShape.count) } }
        encoderOutputs = activations(network.encoder)
        encoderGrads = activations(network.encoder)
        (mean, logVariance, eps, z) = (Buffer(count: B * cfg.latent), Buffer(count: B * cfg.latent),
                                       Buffer(count: B * cfg.latent), Buffer(count: B * cfg.latent))
        (meanGrad, logVarianceGrad, zGrad) = (Buffer(count: B * cfg.latent), Buffer(count: B * cfg.latent),
                                              Buffer(count: B * cfg.latent))
        decoderOutputs = activations(network.decoder)
        decoderGrads = activations(network.decoder)
        encoderSaved = network.encoder.map { Buffer(count: $0.layer.savedCount(batch: B)) }
        decoderSaved = network.decoder.map { Buffer(count: $0.layer.savedCount(batch: B)) }
        // With one channel (C, B, H, W) and (B, C, H, W) coincide: no copies needed.
        let output = network.outputShape
        logits = output.channels > 1 ? Buffer(count: B * output.count) : decoderOutputs.last!
        logitsGrad = output.channels > 1 ? Buffer(count: B * output.count) : decoderGrads.last!
        scratch = Buffer(count: (network.encoder + network.decoder).map { $0.layer.scratchCount(batch: B) }.max() ?? 0)
        reconstruction = [Double](repeating: 0, count: B)
        kl = [Double](repeating: 0, count: B)
        grads = Buffer(count: network.parameterCount)
    }
}
