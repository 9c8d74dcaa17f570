// BernoulliLikelihood: pixels in [0, 1] as Bernoulli probabilities σ(logit): binary cross-entropy with logits.
import Foundation

/// The decoder outputs one logit per pixel. On intensities that are not 0 or 1 this is the
/// loss PyTorch VAEs use, not a likelihood of the 8-bit data.
public struct BernoulliLikelihood: Likelihood {
    public init() {}

    public func negativeLogLikelihood(output: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int,
                                      image: TensorShape, parameters: UnsafePointer<Float>,
                                      into nll: UnsafeMutablePointer<Double>, gradient: FloatPointer?,
                                      parameterGradients: FloatPointer?, scale: Float) {
        let n = image.count
        for b in 0..<batch {
            nll[b] = bernoulliNLL(logits: output + b * n, targets: targets + b * n, count: n,
                                  grad: gradient.map { $0 + b * n }, scale: scale)
        }
    }

    public func mean(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
                     into images: FloatPointer) {
        for i in 0..<(batch * image.count) { images[i] = 1 / (1 + expf(-output[i])) }
    }

    public func sample(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
                       random: RandomStream, start: UInt64, into images: FloatPointer) {
        let n = batch * image.count
        random.fillUniform(images, count: n, low: 0, high: 1, start: start)
        for i in 0..<n { images[i] = images[i] < 1 / (1 + expf(-output[i])) ? 1 : 0 }
    }
}
