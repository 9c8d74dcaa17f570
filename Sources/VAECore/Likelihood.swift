// Likelihood: the last layer of the decoder, p(x | decoder output): its NLL and gradient, mean image and sampler.

/// What a pixel likelihood provides (README, "Adding a likelihood"). The decoder's output reaches
/// it image-major, (B, outputChannels(imageChannels), H, W); targets are (B, C, H, W) in [0, 1].
public protocol Likelihood: Sendable {
    /// Decoder output channels needed for images of `imageChannels` channels.
    func outputChannels(imageChannels: Int) -> Int
    /// Parameters of its own (e.g. a learned scale), in the flat buffer after the decoder's.
    var parameters: [ParameterSpec] { get }
    /// nll[b] = −log p(x_b | output_b) in nats for each of `batch` images. With `gradient`, writes
    /// scale · ∂nll_b/∂output_b there (overwriting), and adds scale · Σ_b ∂nll_b/∂θ to
    /// `parameterGradients` (this likelihood's slice of the gradient buffer).
    func negativeLogLikelihood(output: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int,
                               image: TensorShape, parameters: UnsafePointer<Float>, into nll: UnsafeMutablePointer<Double>,
                               gradient: FloatPointer?, parameterGradients: FloatPointer?, scale: Float)
    /// The image the output stands for, E[x | output], in [0, 1]: (B, C, H, W).
    func mean(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
              into images: FloatPointer)
    /// A draw x ~ p(x | output), in [0, 1], using `random` from element `start` on.
    func sample(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
                random: RandomStream, start: UInt64, into images: FloatPointer)
}

extension Likelihood {
    public var parameters: [ParameterSpec] { [] }
    /// Floats of all its own parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    public func outputChannels(imageChannels: Int) -> Int { imageChannels }
}
