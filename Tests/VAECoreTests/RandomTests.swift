// Tests of the Philox generator: Random123's known-answer vectors and the shape of its distributions.
import Testing
import TestSupport
@testable import VAECore

@Suite struct RandomTests {
    /// Known-answer vectors of philox4x32-10 from Random123's kat_vectors.
    @Test func philoxMatchesRandom123() {
        let zero = Philox(seed: 0).block(0, 0, 0, 0)
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = Philox(seed: UInt64.max).block(.max, .max, .max, .max)
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = Philox(seed: 0x299f_31d0_a409_3822).block(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344)
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    @Test func normalsHaveZeroMeanAndUnitVariance() {
        let stream = RandomStream(seed: 42, purpose: .noise)
        let n = 200_000
        var sum = 0.0, squares = 0.0
        for i in 0..<n {
            let x = Double(stream.normal(at: UInt64(i)))
            sum += x
            squares += x * x
        }
        let mean = sum / Double(n), variance = squares / Double(n) - mean * mean
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.01)
    }

    @Test func streamsAreReproducibleAndIndependent() {
        var a = RandomStream(seed: 7, purpose: .shuffle, detail: 3)
        var b = RandomStream(seed: 7, purpose: .shuffle, detail: 3)
        var c = RandomStream(seed: 7, purpose: .shuffle, detail: 4)
        let pa = a.permutation(100), pb = b.permutation(100), pc = c.permutation(100)
        #expect(pa == pb)
        #expect(pa != pc)
        #expect(pa.sorted() == Array(0..<100))
        // A stream resumed at a saved position continues exactly.
        var d = RandomStream(seed: 7, purpose: .shuffle, detail: 3)
        _ = d.nextWord()
        var e = RandomStream(seed: 7, purpose: .shuffle, detail: 3, position: d.position)
        #expect(d.nextWord() == e.nextWord())
    }
}

@Suite struct FloatEnvironmentTests {
    /// With flush-to-zero on, a product below the smallest normal Float is zero, not denormal.
    @Test func denormalsAreFlushedToZero() {
        FloatEnvironment.flushDenormals()
        let tiny = Float.leastNormalMagnitude
        var factor: Float = 0.5
        withUnsafeMutablePointer(to: &factor) { p in
            // Through memory, so the product is computed at run time, not folded by the compiler.
            #expect(tiny * p.pointee == 0)
        }
    }
}
