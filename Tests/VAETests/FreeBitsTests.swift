// Free bits: the trainer's gradient against finite differences of the floored objective, computed independently.
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

@Suite struct FreeBitsTests {
    static let config = ModelConfig.plain(size: 8, channels: 1, widths: [4], hidden: 6, latent: 4)
    static let batch = 6, seed: UInt64 = 9, beta = 0.7

    /// The objective free bits optimise (Kingma et al. 2016, the batch-mean variant), written out
    /// here apart from the code under test: mean reconstruction NLL + β Σ_j max(λ, KL_j), with
    /// KL_j = mean over the batch of ½(μ² + σ² − 1 − log σ²) for dimension j, at the noise of step 0.
    /// Returns it with the KL_j.
    static func objective(_ network: Network, params: Buffer, images: Buffer, in ws: Workspace,
                          floor lambda: Double) -> (value: Double, kl: [Double]) {
        let p = UnsafePointer(params.pointer), L = config.latent
        network.encode(images.pointer, batch: batch, params: p, in: ws)
        RandomStream(seed: seed, purpose: .noise, detail: 0).fillNormal(ws.eps.pointer, count: batch * L)
        network.sampleLatent(batch: batch, in: ws)
        network.decode(batch: batch, params: p, in: ws)
        network.evaluateLoss(images.pointer, batch: batch, params: p, in: ws)
        var kl = [Double](repeating: 0, count: L)
        for b in 0..<batch {
            for j in 0..<L {
                let m = Double(ws.mean[b * L + j]), lv = Double(ws.logVariance[b * L + j])
                kl[j] += 0.5 * (m * m + exp(lv) - 1 - lv) / Double(batch)
            }
        }
        let reconstruction = ws.reconstruction.prefix(batch).reduce(0, +) / Double(batch)
        return (reconstruction + beta * kl.reduce(0) { $0 + max(lambda, $1) }, kl)
    }

    /// With λ between the dimensions' KLs (some floored, some not), the trainer's summed gradient
    /// over two shards equals central differences of the floored objective; it differs from the
    /// gradient without free bits, which the floored dimensions' KL would pull on.
    @Test func gradientMatchesFiniteDifferencesOfTheFlooredObjective() throws {
        let network = Network(config: Self.config)
        var rng = TestRandom(41)
        let images = Buffer(rng.floats(Self.batch * 64, 0, 1))
        let trainer = Trainer(network: network, batch: Self.batch, seed: Self.seed, beta: Float(Self.beta), shards: 2, threads: 2)
        let ws = Workspace(network: network, capacity: Self.batch)
        // Larger mean-head weights spread the dimensions' KLs apart, so that λ can sit well between them.
        for tensor in network.layout.tensors where tensor.name.hasPrefix("mu.") {
            for i in tensor.offset..<(tensor.offset + tensor.count) { trainer.params[i] *= 4 }
        }
        let start = trainer.params.array

        // λ in the middle of the widest gap between the dimensions' KLs.
        let kls = Self.objective(network, params: trainer.params, images: images, in: ws, floor: 0).kl.sorted()
        let gaps: [Double] = (1..<kls.count).map { kls[$0] - kls[$0 - 1] }
        let gap: Int = gaps.indices.max { gaps[$0] < gaps[$1] }! + 1
        let lambda: Double = (kls[gap] + kls[gap - 1]) / 2
        #expect(gaps[gap - 1] > 5e-2, "KLs \(kls)")

        func gradient(freeBits: Float?) -> (gradient: [Float], loss: Double) {
            trainer.params.copy(from: Buffer(start))
            trainer.freeBits = freeBits
            let result = trainer.step(images.pointer, count: Self.batch, noiseIndex: 0)
            trainer.params.copy(from: Buffer(start))
            return (trainer.gradient, result.loss)
        }
        let plain = gradient(freeBits: nil).gradient
        let (analytic, loss) = gradient(freeBits: Float(lambda))
        let centre = Self.objective(network, params: trainer.params, images: images, in: ws, floor: lambda).value
        #expect(isClose(loss, centre, relative: 1e-5), "loss \(loss) vs objective \(centre)")
        let difference = zip(plain, analytic).map { abs($0 - $1) }.max()!
        #expect(difference > 1e-3, "free bits did not change the gradient")

        // As in TrainerTests: a ReLU kink within a step spoils the central difference but not the
        // one-sided one on the other side; a wrong gradient disagrees with all of them.
        expectGradientMatchesFiniteDifferences(analytic, network: network, params: trainer.params, centre: centre, seed: 42) {
            Self.objective(network, params: trainer.params, images: images, in: ws, floor: lambda).value
        }
    }

    /// The floor is decided on the whole batch's KL, summed over shards in a fixed order: one
    /// thread or two give the same weights.
    @Test func resultsDoNotDependOnThreadCount() {
        let network = Network(config: Self.config)
        var rng = TestRandom(43)
        let images = Buffer(rng.floats(8 * 64, 0, 1))
        var weights: [[Float]] = []
        for threads in [1, 2] {
            let trainer = Trainer(network: network, batch: 8, seed: 3, shards: 2, threads: threads)
            trainer.freeBits = 0.3
            for step in 0..<4 { _ = trainer.step(images.pointer, count: 8, noiseIndex: UInt64(step)) }
            weights.append(trainer.params.array)
        }
        #expect(weights[0] == weights[1])
    }

    /// A batch smaller than the shard count (an epoch's last) leaves a shard empty: its KL sums
    /// count as zero, not as the previous step's.
    @Test func anEmptyShardAddsNothing() {
        let network = Network(config: Self.config)
        var rng = TestRandom(44)
        let images = Buffer(rng.floats(4 * 64, 0, 1))
        let used = Trainer(network: network, batch: 4, seed: 3, shards: 2, threads: 1)
        used.freeBits = 1e-4
        _ = used.step(images.pointer, count: 4, noiseIndex: 0)
        let fresh = Trainer(network: network, batch: 4, seed: 3, shards: 2, threads: 1, params: Buffer(used.params.array))
        fresh.freeBits = 1e-4
        let a = used.step(images.pointer, count: 1, noiseIndex: 1), b = fresh.step(images.pointer, count: 1, noiseIndex: 1)
        #expect(a.loss == b.loss && used.gradient == fresh.gradient)
    }

    @Test func theFlooredTermCountsEachDimensionAtLeastLambda() {
        let (kl, floored) = freeBitsKL(meanPerDimension: [0.1, 0.5, 2.0], floor: 0.5)
        #expect(kl == 0.5 + 0.5 + 2.0 && floored == [true, false, false])
    }
}
