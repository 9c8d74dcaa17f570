// Tests of a bf16 training step against the same step in fp32 (bf16 GEMM inputs, f32 sums).
import Foundation
import Testing
import TestSupport
@testable import VAE
@testable import VAECore

@Suite struct PrecisionStepTests {
    static let bf16 = (try? PrecisionChoice.resolve(.bf16)) != nil

    /// One step of a small model in each precision from the same weights, images and noise: the
    /// loss agrees to 1 %, the summed gradient as far as bf16 inputs (8 bits of mantissa) carried
    /// through every layer allow, and they are not the same numbers (the bf16 products did run).
    @Test(.enabled(if: bf16)) func bf16StepIsCloseToTheFp32Step() {
        let config = ModelConfig.plain(size: 16, channels: 3, widths: [8, 16], hidden: 32, latent: 4)
        let batch = 6
        var random = TestRandom(21)
        let images = Buffer(random.floats(batch * config.imageFloats, 0, 1))
        func step(_ precision: Precision) -> (loss: Double, gradient: [Float], after: [Float]) {
            let trainer = Trainer(network: Network(config: config), batch: batch, seed: 9, shards: 2, threads: 2)
            trainer.precision = precision
            let result = trainer.step(images.pointer, count: batch, noiseIndex: 0)
            return (result.loss, trainer.gradient, trainer.params.array)
        }
        let fp32 = step(.fp32), bf16 = step(.bf16)
        #expect(isClose(bf16.loss, fp32.loss, relative: 1e-2, absolute: 0))
        func relativeDifference(_ range: Range<Int>) -> Double {
            var difference = 0.0, size = 0.0
            for i in range {
                difference += Double(bf16.gradient[i] - fp32.gradient[i]) * Double(bf16.gradient[i] - fp32.gradient[i])
                size += Double(fp32.gradient[i]) * Double(fp32.gradient[i])
            }
            return (difference / size).squareRoot()
        }
        // The rounding adds up layer by layer going backward: measured 0.3 % of the norm on the
        // last layer's weight gradient, 5–7 % on the first convolution's, 3.3 % over all; a
        // wrong product (a transpose, a leading dimension) would be off by its whole size.
        let last = Network(config: config).layout.tensors.first { $0.name == "dec.2.weight" }!
        let all = relativeDifference(0..<fp32.gradient.count), lastLayer = relativeDifference(last.offset..<last.offset + last.count)
        #expect(all < 0.1, "gradient differs by \(all) of its norm")
        #expect(lastLayer < 0.01, "last layer's weight gradient differs by \(lastLayer) of its norm")
        #expect(all > 0, "the bf16 step computed exactly the fp32 gradient")
        #expect(bf16.after.allSatisfy { $0.isFinite })
    }

    /// Whole steps of a plain and a residual model (two shards, run one after the other on this
    /// thread) with operands rounded once for several products are bit-identical to steps where
    /// every product rounds its own inputs, as the bf16 path first did.
    @Test(.enabled(if: bf16)) func roundingOperandsOnceChangesNoBit() {
        let configs = [ModelConfig.plain(size: 16, channels: 3, widths: [8, 16], hidden: 32, latent: 4),
                       ModelConfig.resnet(size: 16, channels: 3, widths: [4, 8], hidden: nil, latent: 3)]
        for config in configs {
            let batch = 6
            var random = TestRandom(22)
            let images = Buffer(random.floats(batch * config.imageFloats, 0, 1))
            func steps() -> [[UInt32]] {
                let trainer = Trainer(network: Network(config: config), batch: batch, seed: 9, shards: 2, threads: 1)
                trainer.precision = .bf16
                var out: [[UInt32]] = []
                for step in 0..<2 {
                    _ = trainer.step(images.pointer, count: batch, noiseIndex: UInt64(step))
                    out += [trainer.gradient.map(\.bitPattern), trainer.params.array.map(\.bitPattern)]
                }
                return out
            }
            let once = steps(), perProduct = LayerGEMM.withPerCallRounding { steps() }
            #expect(once == perProduct, "\(config)")
        }
    }
}
