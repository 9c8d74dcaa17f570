// Layers through the Layer protocol: SiLU and ReLU against their definitions and finite differences, the likelihoods' means and samplers.
import Foundation
import Testing
import TestSupport
@testable import VAECore

/// Runs `layer` forward on x (batch × inputShape) and returns y.
func forward(_ layer: any StatelessLayer, _ x: [Float], batch: Int) -> [Float] {
    let y = Buffer(count: batch * layer.outputShape.count), scratch = Buffer(count: layer.scratchCount(batch: batch))
    let p = Buffer(count: 1), input = Buffer(x)
    layer.forward(input.pointer, into: y.pointer, batch: batch, parameters: p.pointer, scratch: scratch.pointer,
                  profiler: Profiler())
    withExtendedLifetime((input, p, scratch)) {}
    return y.array
}

@Suite struct LayerTests {
    /// y = x·σ(x) against the definition in Double, over the whole range (large |x| must not overflow).
    @Test func siluForwardMatchesItsDefinition() {
        var rng = TestRandom(3)
        let x = rng.floats(200, -12, 12) + [0, -100, 100, -1e-6, 90, -90]
        let layer = SiLU(shape: TensorShape(channels: 2, height: 1, width: 103))
        let y = forward(layer, x, batch: 1)
        let expected = x.map { v -> Float in let d = Double(v); return Float(d / (1 + exp(-d))) }
        assertClose(y, expected, relative: 1e-6, absolute: 1e-7, "silu")
        #expect(y.allSatisfy { $0.isFinite })
    }

    /// dx of Σ w·SiLU(x) for random weights w, against central differences.
    @Test func siluGradientMatchesFiniteDifferences() {
        var rng = TestRandom(4)
        let batch = 3, shape = TensorShape(features: 7)
        let x = rng.floats(batch * 7, -4, 4), w = rng.floats(batch * 7)
        let layer = SiLU(shape: shape)
        let y = Buffer(forward(layer, x, batch: batch)), dy = Buffer(w), dx = Buffer(count: x.count), none = Buffer(count: 1)
        let input = Buffer(x)
        layer.backward(dy.pointer, x: input.pointer, y: y.pointer, dx: dx.pointer, batch: batch, parameters: none.pointer,
                       gradients: none.pointer, scratch: none.pointer, profiler: Profiler())
        withExtendedLifetime((input, y, dy, none)) {}
        checkFiniteDifferences(x, analytic: dx.array, step: 1e-2, relative: 1e-3, absolute: 1e-4, "silu dx") { x in
            zip(forward(layer, x, batch: batch), w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
    }

    /// The standalone ReLU: max(x, 0) forward; backward passes dy where the output is positive.
    @Test func reluLayerForwardAndBackward() {
        let x: [Float] = [-2, -0.5, 0, 0.5, 3, -1]
        let layer = ReLU(shape: TensorShape(features: 3))
        let y = forward(layer, x, batch: 2)
        #expect(y == [0, 0, 0, 0.5, 3, 0])
        let dy = Buffer([1, 2, 3, 4, 5, 6]), dx = Buffer(count: 6), none = Buffer(count: 1)
        let input = Buffer(x), output = Buffer(y)
        layer.backward(dy.pointer, x: input.pointer, y: output.pointer, dx: dx.pointer, batch: 2,
                       parameters: none.pointer, gradients: none.pointer, scratch: none.pointer, profiler: Profiler())
        withExtendedLifetime((input, output, none)) {}
        #expect(dx.array == [0, 0, 0, 4, 5, 0])
    }

    /// Flatten then Unflatten is the identity, and Flatten orders each image as (channel, row, column).
    @Test func flattenOrdersAsPyTorchAndUnflattenInvertsIt() {
        let planes = TensorShape(channels: 2, height: 1, width: 3), batch = 2
        // Channel-major (C, B, P): channel 0 of image 0, channel 0 of image 1, channel 1 of image 0, ...
        let x: [Float] = [0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]
        let flat = forward(Flatten(input: planes), x, batch: batch)
        #expect(flat == [0, 1, 2, 100, 101, 102, 10, 11, 12, 110, 111, 112])
        #expect(forward(Unflatten(output: planes), flat, batch: batch) == x)
    }

    /// Bernoulli's mean is σ(logit); its samples are 0 or 1 with that frequency.
    @Test func bernoulliMeanAndSamples() {
        let likelihood = BernoulliLikelihood(), image = TensorShape(features: 4000), none = Buffer(count: 1)
        let logits = Buffer((0..<4000).map { Float($0 % 2 == 0 ? -1 : 2) }), out = Buffer(count: 4000)
        likelihood.mean(output: logits.pointer, batch: 1, image: image, parameters: none.pointer, into: out.pointer)
        assertClose(Double(out[0]), 1 / (1 + exp(1.0)), relative: 1e-6)
        likelihood.sample(output: logits.pointer, batch: 1, image: image, parameters: none.pointer,
                          random: RandomStream(seed: 1, purpose: .sampling), start: 0, into: out.pointer)
        withExtendedLifetime((logits, none)) {}
        let values = out.array
        #expect(values.allSatisfy { $0 == 0 || $0 == 1 })
        let evenMean = stride(from: 0, to: 4000, by: 2).reduce(0.0) { $0 + Double(values[$1]) } / 2000
        #expect(abs(evenMean - 1 / (1 + exp(1.0))) < 0.03)
    }

    /// Gaussian: the mean is the output clamped to [0, 1]; samples have the scale's spread; the
    /// learned log-scale's gradient matches finite differences of the NLL.
    @Test func gaussianMeanSamplesAndScaleGradient() {
        let image = TensorShape(features: 6), logScale: [Float] = [-1.1]
        let likelihood = GaussianLikelihood(logScale: 0, learnScale: true)
        let output = Buffer([0.2, 0.5, -0.3, 1.4, 0.7, 0.9]), targets = Buffer([0.1, 0.6, 0.0, 1.0, 0.75, 0.2])
        let out = Buffer(count: 6), scaleBuffer = Buffer(logScale)
        likelihood.mean(output: output.pointer, batch: 1, image: image, parameters: scaleBuffer.pointer, into: out.pointer)
        #expect(out.array == [0.2, 0.5, 0, 1, 0.7, 0.9])
        func nll(_ s: Float, gradient: Bool = false) -> (Double, Float) {
            var value = 0.0
            let grad = Buffer(count: 6), dScale = Buffer(count: 1), parameter = Buffer([s])
            likelihood.negativeLogLikelihood(output: output.pointer, targets: targets.pointer, batch: 1, image: image,
                                             parameters: parameter.pointer, into: &value,
                                             gradient: gradient ? grad.pointer : nil,
                                             parameterGradients: gradient ? dScale.pointer : nil, scale: 1)
            withExtendedLifetime((grad, parameter)) {}
            return (value, dScale[0])
        }
        let analytic = nll(logScale[0], gradient: true).1
        let numeric = (nll(logScale[0] + 1e-3).0 - nll(logScale[0] - 1e-3).0) / 2e-3
        assertClose(Double(analytic), numeric, relative: 1e-3, absolute: 1e-4, "dlog_scale")
        let many = Buffer([Float](repeating: 0.5, count: 20000)), draws = Buffer(count: 20000)
        let sigma = Buffer([log(0.05)])
        likelihood.sample(output: many.pointer, batch: 1, image: TensorShape(features: 20000),
                          parameters: sigma.pointer, random: RandomStream(seed: 2, purpose: .sampling),
                          start: 0, into: draws.pointer)
        withExtendedLifetime((many, sigma, output, targets, scaleBuffer)) {}
        let d = draws.array.map(Double.init), m = d.reduce(0, +) / 20000
        let sd = (d.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 20000).squareRoot()
        #expect(abs(m - 0.5) < 0.005 && abs(sd - 0.05) < 0.003)
    }
}
