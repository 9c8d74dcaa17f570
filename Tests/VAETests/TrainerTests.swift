// Tests of the training step: whole-model gradients, thread-count independence and a falling loss.
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

@Suite struct TrainerTests {
    static let small = ModelConfig.plain(size: 8, channels: 3, widths: [4, 6], hidden: 7, latent: 3,
                                   likelihood: .gaussian, logScale: -1, learnScale: true)

    /// The full backward pass (Gaussian likelihood with learned scale, beta ≠ 1) against central
    /// differences of the loss, for a sample of parameters of every tensor; also with the heads
    /// soft-clamped at a bound small enough that the clamp bends the codes (tanh(1) = 0.76).
    @Test(arguments: [nil, Float(1)]) func modelGradientMatchesFiniteDifferences(clamp: Float?) {
        var config = Self.small
        config.latentClamp = clamp
        let network = Network(config: config)
        let batch = 3
        let trainer = Trainer(network: network, batch: batch, seed: 5, beta: 0.7, shards: 1, threads: 1)
        var rng = TestRandom(12)
        let x = Buffer(rng.floats(batch * Self.small.imageFloats, 0, 1))
        let ws = trainer.workspaces[0]
        let eps = Buffer(rng.floats(batch * Self.small.latent))
        func loss(grad: Bool) -> Double {
            let p = trainer.params.pointer
            ws.grads.zero()
            network.encode(x.pointer, batch: batch, params: p, in: ws)
            ws.eps.pointer.update(from: eps.pointer, count: eps.count)
            network.sampleLatent(batch: batch, in: ws)
            network.decode(batch: batch, params: p, in: ws)
            network.evaluateLoss(x.pointer, batch: batch, params: p, in: ws, beta: 0.7,
                                 gradientScale: grad ? 1 / Float(batch) : nil)
            if grad { network.backward(x.pointer, batch: batch, params: p, in: ws) }
            return (0..<batch).reduce(0.0) { $0 + ws.reconstruction[$1] + 0.7 * ws.kl[$1] } / Double(batch)
        }
        _ = loss(grad: true)
        let analytic = ws.grads.array
        var rng2 = TestRandom(13)
        for tensor in network.layout.tensors {
            for _ in 0..<6 {
                let i = tensor.offset + Int(rng2.next() % UInt64(tensor.count))
                let saved = trainer.params[i]
                // ReLU kinks: when one lies within a step of the point, the difference across
                // it is spoiled but the one-sided difference on the other side is not. A wrong
                // gradient disagrees with all of them, at both step sizes.
                let centre = loss(grad: false)
                let numerics = [Float(1e-2), 3e-3].flatMap { h -> [Double] in
                    trainer.params[i] = saved + h
                    let plus = loss(grad: false)
                    trainer.params[i] = saved - h
                    let minus = loss(grad: false)
                    trainer.params[i] = saved
                    let h = Double(h)
                    return [(plus - minus) / (2 * h), (plus - centre) / h, (centre - minus) / h]
                }
                let numeric = numerics.min { abs($0 - Double(analytic[i])) < abs($1 - Double(analytic[i])) }!
                #expect(isClose(Double(analytic[i]), numeric, relative: 2e-2, absolute: 2e-3),
                        "\(tensor.name)[\(i - tensor.offset)]: analytic \(analytic[i]) vs numeric \(numeric)")
            }
        }
    }

    /// The same seed and shard count give bit-identical weights with one thread or two.
    @Test func resultsDoNotDependOnThreadCount() {
        let network = Network(config: ModelConfig.presets["fmnist"]!)
        var rng = TestRandom(14)
        let x = Buffer(rng.floats(16 * 784, 0, 1))
        var weights: [[Float]] = []
        for threads in [1, 2] {
            let trainer = Trainer(network: network, batch: 16, seed: 3, shards: 2, threads: threads)
            for step in 0..<3 { _ = trainer.step(x.pointer, count: 16, noiseIndex: UInt64(step)) }
            weights.append(trainer.params.array)
        }
        #expect(weights[0] == weights[1])
    }

    /// A step's gradient is its own batch's alone: the shards' buffers that the previous step's
    /// sum cleared (instead of the next step zeroing them) hold nothing of it; in bf16 the
    /// weights the optimizer rounded for the next step are the ones it wrote, and a trainer told
    /// that its weights were written elsewhere (`parametersChanged`) rounds them again.
    @Test(arguments: [Precision.fp32, .bf16]) func eachStepsGradientIsItsOwn(_ precision: Precision) {
        if precision == .bf16 && !BF16.isAvailable { return }
        let network = Network(config: ModelConfig.plain(size: 8, channels: 3, widths: [4, 8], hidden: 6, latent: 3))
        var rng = TestRandom(17)
        let first = Buffer(rng.floats(6 * 192, 0, 1)), second = Buffer(rng.floats(6 * 192, 0, 1))
        let trainer = Trainer(network: network, batch: 6, seed: 4, shards: 2, threads: 2)
        trainer.precision = precision
        _ = trainer.step(first.pointer, count: 6, noiseIndex: 0)
        _ = trainer.step(second.pointer, count: 6, noiseIndex: 1)
        // A new trainer from the weights after the first step, on the second batch.
        let alone = Trainer(network: network, batch: 6, seed: 4, shards: 2, threads: 2)
        alone.precision = precision
        _ = alone.step(first.pointer, count: 6, noiseIndex: 0)
        let afterFirst = alone.params.array
        let again = Trainer(network: network, batch: 6, seed: 4, shards: 2, threads: 2, params: Buffer(afterFirst))
        again.precision = precision
        _ = again.step(second.pointer, count: 6, noiseIndex: 1)
        #expect(again.gradient.elementsEqual(trainer.gradient), "the second step's gradient carried something of the first")
        // Weights written between steps: without being told, a bf16 step could read the old rounding.
        alone.params.pointer.update(from: again.params.pointer, count: alone.params.count)
        alone.parametersChanged()
        _ = alone.step(first.pointer, count: 6, noiseIndex: 2)
        _ = again.step(first.pointer, count: 6, noiseIndex: 2)
        #expect(alone.gradient.elementsEqual(again.gradient), "a step after parametersChanged() read stale weights")
    }

    /// Cutting the batch into shards changes only the order of sums: the summed gradient of one
    /// step matches the unsharded one to rounding.
    @Test func shardingOnlyChangesRounding() {
        let network = Network(config: ModelConfig.plain(size: 8, channels: 3, widths: [4, 8], hidden: 6, latent: 3))
        var rng = TestRandom(15)
        let x = Buffer(rng.floats(10 * 192, 0, 1))
        var gradients: [[Float]] = []
        for shards in [1, 2, 3] {
            let trainer = Trainer(network: network, batch: 10, seed: 4, shards: shards, threads: 2)
            _ = trainer.step(x.pointer, count: 10, noiseIndex: 0)
            gradients.append(trainer.gradient)
        }
        assertClose(gradients[1], gradients[0], relative: 1e-4, absolute: 1e-6, "2 shards vs 1")
        assertClose(gradients[2], gradients[0], relative: 1e-4, absolute: 1e-6, "3 shards vs 1")
    }

    /// A few dozen steps on a tiny fixed batch bring the loss well down (a sanity check, not a timing).
    @Test func lossFallsOnATinyDataSet() {
        let config = ModelConfig.plain(size: 8, channels: 1, widths: [8, 16], hidden: 32, latent: 4)
        let network = Network(config: config)
        let trainer = Trainer(network: network, batch: 8, seed: 1, adam: AdamSettings(learningRate: 3e-3))
        // Eight simple images: bright squares in different places.
        var images = [Float](repeating: 0, count: 8 * 64)
        for i in 0..<8 { for y in 0..<4 { for x in 0..<4 { images[i * 64 + ((i / 4) * 4 + y) * 8 + (i % 4) * 2 + x / 2] = 1 } } }
        let x = Buffer(images)
        let first = trainer.step(x.pointer, count: 8, noiseIndex: 0).loss
        var last = first
        for step in 1..<60 { last = trainer.step(x.pointer, count: 8, noiseIndex: UInt64(step)).loss }
        #expect(last < 0.7 * first, "loss went from \(first) to \(last)")
    }

    @Test func aNonFiniteLossIsNotApplied() {
        let network = Network(config: ModelConfig.plain(size: 4, channels: 1, widths: [2], hidden: nil, latent: 2))
        let trainer = Trainer(network: network, batch: 2, seed: 1)
        let before = trainer.params.array
        let x = Buffer([Float](repeating: .nan, count: 32))
        let result = trainer.step(x.pointer, count: 2, noiseIndex: 0)
        #expect(!result.applied)
        #expect(trainer.params.array == before)
        #expect(trainer.adam.step == 0)
    }

    /// The moving average of the weights against the rule applied in Double to the iterates,
    /// step by step, including the warm-up decay min(d, (1 + t) / (10 + t)); the iterates
    /// themselves are unchanged by averaging.
    @Test func weightAverageFollowsTheIterates() {
        let network = Network(config: ModelConfig.plain(size: 8, channels: 1, widths: [4], hidden: nil, latent: 2))
        var rng = TestRandom(16)
        let x = Buffer(rng.floats(4 * 64, 0, 1))
        let plain = Trainer(network: network, batch: 4, seed: 2, shards: 1, threads: 1)
        let averaging = Trainer(network: network, batch: 4, seed: 2, shards: 1, threads: 1, averageDecay: 0.6)
        var expected = averaging.params.array.map(Double.init)
        for step in 0..<25 {
            _ = plain.step(x.pointer, count: 4, noiseIndex: UInt64(step))
            _ = averaging.step(x.pointer, count: 4, noiseIndex: UInt64(step))
            let t = Double(step + 1), decay = min(0.6, (1 + t) / (10 + t))
            let w = averaging.params.array
            for i in expected.indices { expected[i] = decay * expected[i] + (1 - decay) * Double(w[i]) }
        }
        #expect(averaging.params.array == plain.params.array)
        let average = averaging.average!.array
        #expect(average != averaging.params.array)
        assertClose(average, expected.map(Float.init), relative: 1e-5, absolute: 1e-6, "average")
    }
}
