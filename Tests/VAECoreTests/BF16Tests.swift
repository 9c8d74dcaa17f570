// Tests of bf16 rounding against a bit-level reference, and of the bf16 GEMM against Double sums.
import Foundation
import Testing
import TestSupport
@testable import VAECore

@Suite struct BF16Tests {
    /// Rounding stated the long way: keep the top 16 bits, then look at the dropped 16.
    static func reference(_ bits: UInt32) -> UInt16 {
        let exponent = (bits >> 23) & 0xff, mantissa = bits & 0x7f_ffff
        if exponent == 0xff && mantissa != 0 { return 0x7fc0 }
        let kept = UInt16(bits >> 16), dropped = bits & 0xffff
        let up = dropped > 0x8000 || (dropped == 0x8000 && kept & 1 == 1)
        return up ? kept &+ 1 : kept   // a carry out of the mantissa steps the exponent, up to Inf
    }

    @Test func roundingMatchesTheBitLevelReferenceOnEdgeCases() {
        let cases: [(UInt32, UInt16)] = [
            (0x3f80_0000, 0x3f80),  // 1
            (0x3f80_8000, 0x3f80),  // tie, kept part even: down
            (0x3f81_8000, 0x3f82),  // tie, kept part odd: up
            (0x3f80_8001, 0x3f81),  // just above the tie
            (0x3f80_7fff, 0x3f80),  // just below
            (0x7f7f_ffff, 0x7f80),  // the largest float rounds to Inf
            (0x7f80_0000, 0x7f80), (0xff80_0000, 0xff80),  // ±Inf stay
            (0x7fc0_0000, 0x7fc0), (0x7f80_0001, 0x7fc0), (0xffc1_2345, 0x7fc0), (0x7fff_ffff, 0x7fc0),  // NaNs
            (0x0000_8000, 0x0000), (0x0001_8000, 0x0002), (0x0000_8001, 0x0001),  // denormals round too
            (0x8000_0000, 0x8000), (0x0000_0000, 0x0000),  // ±0
            (0xbf80_8000, 0xbf80), (0xbf81_8000, 0xbf82),  // negative ties
        ]
        for (input, expected) in cases {
            #expect(Self.reference(input) == expected, "reference on \(String(input, radix: 16))")
            #expect(BF16.bits(Float(bitPattern: input)) == expected, "\(String(input, radix: 16))")
        }
    }

    @Test func scalarAndVectorRoundingMatchTheReferenceOnRandomBits() {
        var random = TestRandom(7)
        // Random patterns, and some whose dropped half is exactly a tie.
        let patterns: [UInt32] = (0..<100_003).map { i in
            let bits = UInt32(truncatingIfNeeded: random.next())
            return i % 5 == 0 ? (bits & 0xffff_0000) | 0x8000 : bits
        }
        let floats = patterns.map { Float(bitPattern: $0) }
        var converted = [UInt16](repeating: 0, count: floats.count)
        BF16.convert(floats, ld: floats.count, rows: 1, cols: floats.count, into: &converted)
        var wrong = 0
        for (i, bits) in patterns.enumerated() {
            let expected = Self.reference(bits)
            if BF16.bits(floats[i]) != expected || converted[i] != expected { wrong += 1 }
        }
        #expect(wrong == 0)
        // A strided matrix: each row's padding is skipped.
        let rows = 7, cols = 19, ld = 24
        let matrix = (0..<rows * ld).map { Float(bitPattern: patterns[$0]) }
        var compact = [UInt16](repeating: 0xdead, count: rows * cols)
        BF16.convert(matrix, ld: ld, rows: rows, cols: cols, into: &compact)
        #expect(compact == (0..<rows * cols).map { Self.reference(patterns[($0 / cols) * ld + $0 % cols]) })
    }

    /// op(A)[i][q] for a row-major A with leading dimension ld.
    static func element(_ x: [Float], _ trans: Bool, _ i: Int, _ q: Int, _ ld: Int) -> Double {
        Double(trans ? x[q * ld + i] : x[i * ld + q])
    }

    /// Runs one product on random bf16-exact inputs with padded leading dimensions and checks
    /// every entry of C against Double sums, and that C's padding is untouched.
    static func check(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float, beta: Float,
                      random: inout TestRandom) throws {
        let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5
        let a = random.floats((transA ? k : m) * lda).map(BF16.rounded)
        let b = random.floats((transB ? n : k) * ldb).map(BF16.rounded)
        // beta 0 must not read C: start from NaN there.
        var c = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : random.floats(m * ldc)
        let before = c
        try bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                     beta: beta, c: &c, ldc: ldc, threads: 1)
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<ldc {
                if j >= n {
                    #expect(c[i * ldc + j].bitPattern == before[i * ldc + j].bitPattern, "padding written")
                    continue
                }
                var sum = 0.0, size = 0.0
                for q in 0..<k {
                    let p = element(a, transA, i, q, lda) * element(b, !transB, j, q, ldb)
                    sum += p
                    size += abs(p)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(before[i * ldc + j])
                let expected = Double(alpha) * sum + old
                let error = abs(Double(c[i * ldc + j]) - expected) / (abs(Double(alpha)) * size + abs(old) + 1e-30)
                worst = Swift.max(worst, error.isNaN ? .infinity : error)
            }
        }
        #expect(worst <= 1e-5, "\(transA ? "T" : "N")\(transB ? "T" : "N") \(m)×\(n)×\(k) alpha \(alpha) beta \(beta): \(worst)")
    }

    @Test(.enabled(if: BF16.isAvailable))
    func gemmMatchesDoubleSumsOnOddShapesAndAllTransposes() throws {
        var random = TestRandom(11)
        let shapes = [(1, 1, 1), (1, 3, 17), (3, 17, 1), (17, 33, 65), (65, 1, 257), (33, 257, 3), (257, 65, 33),
                      (64, 49, 512), (2, 3, 0)]
        for (m, n, k) in shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    for beta: Float in [0, 1] {
                        try Self.check(m: m, n: n, k: k, transA: transA, transB: transB, alpha: 1, beta: beta,
                                       random: &random)
                    }
                }
            }
        }
        try Self.check(m: 17, n: 9, k: 33, transA: true, transB: false, alpha: -0.5, beta: 0.25, random: &random)
    }

    @Test(.enabled(if: BF16.isAvailable))
    func bf16InputsGiveTheSameProductAsRoundedFloats() throws {
        var random = TestRandom(3)
        let m = 33, n = 17, k = 65
        let a = random.floats(k * m), b = random.floats(n * k)
        let ah = a.map(BF16.bits), bh = b.map(BF16.bits)
        var fromFloats = [Float](repeating: 0, count: m * n), fromHalves = fromFloats
        try bf16GEMM(transA: true, transB: true, m: m, n: n, k: k, a: a, b: b, c: &fromFloats, threads: 1)
        try bf16GEMM(transA: true, transB: true, m: m, n: n, k: k, a: ah, b: bh, c: &fromHalves, threads: 1)
        #expect(fromFloats == fromHalves)
        #expect(fromFloats.contains { $0 != 0 })
    }

    /// Shards run single-threaded products on several threads at once, sharing cached primitives.
    @Test(.enabled(if: BF16.isAvailable))
    func productsOnSeveralThreadsAtOnceAgreeWithOneAtATime() throws {
        var random = TestRandom(5)
        let m = 64, n = 490, k = 96
        let a = random.floats(m * k), b = random.floats(k * n)
        var alone = [Float](repeating: 0, count: m * n)
        try bf16GEMM(m: m, n: n, k: k, a: a, b: b, c: &alone, threads: 1)
        let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4 * m * n)
        defer { results.deallocate() }
        let failures = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
        defer { failures.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            failures[t] = 0
            for _ in 0..<20 {
                do { try bf16GEMM(m: m, n: n, k: k, a: a, b: b, c: results.baseAddress! + t * m * n, threads: 1) }
                catch { failures[t] += 1 }
            }
        }
        #expect(Array(failures) == [0, 0, 0, 0])
        for t in 0..<4 { #expect(Array(results[t * m * n..<(t + 1) * m * n]) == alone) }
    }
}
