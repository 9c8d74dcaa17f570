// The soft clamp of the posterior heads: b·tanh(x/b) and its slope, against Double and central differences.
import Foundation
import Testing
import TestSupport
@testable import VAE
import VAECore

@Suite struct LatentClampTests {
    @Test func valuesAndSlopesMatchAnIndependentComputation() {
        var rng = TestRandom(3)
        let xs = rng.floats(200, -40, 40) + [0, -0, 1e-8, 5, -5, 1e4, -1e4]
        for bound in [Float(0.5), 5, 10] {
            let y = Buffer(xs)
            LatentClamp.forward(y.pointer, count: xs.count, bound: bound)
            let dy = Buffer(rng.floats(xs.count, -2, 2))
            let dx = Buffer(dy.array)
            LatentClamp.backward(dx.pointer, output: y.pointer, count: xs.count, bound: bound)
            for i in xs.indices {
                let x = Double(xs[i]), b = Double(bound)
                #expect(isClose(Double(y[i]), b * tanh(x / b), relative: 1e-6, absolute: 1e-6))
                #expect(abs(y[i]) <= bound)
                let h = 1e-4 * max(1, abs(x))
                let slope = (b * tanh((x + h) / b) - b * tanh((x - h) / b)) / (2 * h)
                #expect(isClose(Double(dx[i]), Double(dy[i]) * slope, relative: 1e-3, absolute: 1e-5), "x \(x), bound \(b)")
            }
        }
        // Near zero the clamp is the identity: ordinary codes barely move.
        let small = Buffer([0.1, -0.2])
        LatentClamp.forward(small.pointer, count: 2, bound: 5)
        #expect(abs(small[0] - 0.1) < 1e-4 && abs(small[1] + 0.2) < 1e-3)
    }

    /// A model with the clamp saves it in config.json and reads it back; without it the key is absent
    /// (so runs made before it load unchanged); a bound out of range is named.
    @Test func theBoundIsSavedAndChecked() throws {
        var config = ModelConfig.plain(size: 8, channels: 1, widths: [4], hidden: nil, latent: 2)
        let plain = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(!plain.contains("latentClamp"))
        config.latentClamp = 5
        let back = try JSONDecoder().decode(ModelConfig.self, from: try JSONEncoder().encode(config))
        #expect(back.latentClamp == 5 && back == config)
        #expect(config.summary.contains("latent 2 (clamped ±5)"))
        config.latentClamp = -1
        #expect(config.problem?.contains("latentClamp -1") == true)
    }
}
