// GaussianLikelihood: pixels as N(mean, σ²) with the decoder's output as mean and one σ, fixed or learned.
import Foundation

/// σ = exp(logScale). Learned, log σ is a parameter `log_scale` of shape [1] starting at `logScale`.
public struct GaussianLikelihood: Likelihood {
    public var logScale: Float
    public var learnScale: Bool

    public init(logScale: Float, learnScale: Bool) {
        (self.logScale, self.learnScale) = (logScale, learnScale)
    }

    public var parameters: [ParameterSpec] {
        learnScale ? [ParameterSpec("log_scale", [1], fanIn: 1, role: .constant(logScale))] : []
    }

    func logScale(_ parameters: UnsafePointer<Float>) -> Float { learnScale ? parameters[0] : logScale }

    public func negativeLogLikelihood(output: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int,
                                      image: TensorShape, parameters: UnsafePointer<Float>,
                                      into nll: UnsafeMutablePointer<Double>, gradient: FloatPointer?,
                                      parameterGradients: FloatPointer?, scale: Float) {
        let n = image.count, logScale = logScale(parameters)
        // Summed over the batch in Double, added to the Float gradient once.
        var dLogScale: Double = 0
        let wantsScale = gradient != nil && learnScale && parameterGradients != nil
        withUnsafeMutablePointer(to: &dLogScale) { d in
            for b in 0..<batch {
                nll[b] = gaussianNLL(means: output + b * n, targets: targets + b * n, count: n, logScale: logScale,
                                     grad: gradient.map { $0 + b * n }, scale: scale, dLogScale: wantsScale ? d : nil)
            }
        }
        if wantsScale, let parameterGradients { parameterGradients[0] += Float(dLogScale) }
    }

    public func mean(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
                     into images: FloatPointer) {
        for i in 0..<(batch * image.count) { images[i] = Swift.min(Swift.max(output[i], 0), 1) }
    }

    public func sample(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
                       random: RandomStream, start: UInt64, into images: FloatPointer) {
        let n = batch * image.count, sigma = expf(logScale(parameters))
        random.fillNormal(images, count: n, start: start)
        for i in 0..<n { images[i] = Swift.min(Swift.max(output[i] + sigma * images[i], 0), 1) }
    }
}
