// Tests of the operands bf16 products get rounded once: im2col straight to bf16, and layers that use it bit-identical to rounding per product.
import Testing
import TestSupport
@testable import VAECore

@Suite struct BF16OperandTests {
    /// Inputs with the values rounding can get wrong mixed in: ties to even, NaN, ±Inf, -0 and denormals.
    static func awkward(_ n: Int, _ random: inout TestRandom) -> [Float] {
        let special: [Float] = [Float(bitPattern: 0x3f80_8000), Float(bitPattern: 0x3f81_8000), .nan, .infinity,
                                -.infinity, -0.0, Float(bitPattern: 0x0001_8000), Float(bitPattern: 0x7f7f_ffff)]
        return random.floats(n).enumerated().map { i, x in i % 7 == 3 ? special[(i / 7) % special.count] : x }
    }

    /// The K4S2 and K3S1 block kernels, the general path at strides 1, 2 and 3, odd sizes, and
    /// chunks that start inside the batch; rows of 70 and 64 pixels take the K4S2 split's
    /// 32-float steps whole and with a tail.
    @Test(arguments: [(3, 8, 6, 4, 2, 1), (2, 16, 16, 4, 2, 1), (2, 5, 7, 3, 1, 1), (3, 4, 4, 3, 1, 1),
                      (2, 7, 9, 4, 2, 1), (1, 7, 9, 4, 2, 0), (2, 6, 5, 3, 2, 1), (2, 5, 7, 3, 1, 0),
                      (2, 9, 8, 5, 3, 2), (3, 5, 5, 1, 1, 0), (2, 6, 70, 4, 2, 1), (1, 4, 64, 4, 2, 1)])
    func bf16Im2colIsTheRoundedIm2col(_ t: (c: Int, h: Int, w: Int, k: Int, s: Int, p: Int)) {
        let shape = ConvShape(channels: t.c, height: t.h, width: t.w, kernel: t.k, stride: t.s, padding: t.p)
        var random = TestRandom(31)
        let batch = 5
        let image = Self.awkward(t.c * batch * t.h * t.w, &random)
        for (first, count) in [(0, batch), (1, 3), (4, 1)] {
            let expected = naiveIm2col(image, batch: batch, first: first, count: count, shape: shape).map(BF16.bits)
            let entries = shape.columnRows * count * shape.outHeight * shape.outWidth
            var f32 = [Float](repeating: 7, count: entries), bf16 = [UInt16](repeating: 0xdead, count: entries)
            im2col(image, batch: batch, first: first, count: count, shape: shape, into: &f32)
            im2colBF16(image, batch: batch, first: first, count: count, shape: shape, into: &bf16)
            #expect(bf16 == expected, "\(t) first \(first) count \(count)")
            #expect(f32.map(BF16.bits) == expected, "\(t) first \(first) count \(count) (f32)")
        }
    }

    @Test func swiftRoundingMatchesTheShim() {
        var random = TestRandom(8)
        var wrong = 0
        for i in 0..<200_000 {
            let bits = UInt32(truncatingIfNeeded: random.next())
            let x = Float(bitPattern: i % 4 == 0 ? (bits & 0xffff_0000) | 0x8000 : bits)
            if BF16.inlineBits(x) != BF16.bits(x) { wrong += 1 }
        }
        #expect(wrong == 0)
    }

    /// A product with bf16 operands that falls back to sgemm (here: an fp32 thread) widens them:
    /// the same sums as sgemm over the rounded values.
    @Test func bf16OperandsWidenForSgemm() {
        var random = TestRandom(4)
        let (m, n, k) = (5, 7, 9)
        let a = random.floats(k * m).map(BF16.rounded), b = random.floats(k * n).map(BF16.rounded)
        let ah = a.map(BF16.bits), bh = b.map(BF16.bits)
        var expected = [Float](repeating: 0, count: m * n), got = expected
        gemm(transA: true, m: m, n: n, k: k, a: a, b: b, c: &expected)
        ah.withUnsafeBufferPointer { ah in
            bh.withUnsafeBufferPointer { bh in
                layerGEMM(transA: true, m: m, n: n, k: k, a: .bf16(ah.baseAddress!), b: .bf16(bh.baseAddress!), c: &got)
            }
        }
        #expect(got == expected)
    }

    /// Conv2D and ConvTranspose2D, forward and backward, with operands rounded once give the same
    /// bits as with every product rounding its own f32 inputs.
    @Test(.enabled(if: BF16.isAvailable), arguments: convCases)
    func layersMatchPerProductRoundingBitForBit(_ t: ConvCase) {
        var random = TestRandom(12)
        var conv = Conv2D(inChannels: t.c, outChannels: t.oc, height: t.h, width: t.w, kernel: t.k, stride: t.s,
                          padding: t.p, relu: true)
        conv.maxChunk = t.chunk
        var convT = ConvTranspose2D(inChannels: t.c, outChannels: t.oc, height: t.h, width: t.w, kernel: t.k,
                                    stride: t.s, padding: t.p, relu: true)
        convT.maxChunk = t.chunk
        let x = random.floats(t.batch * t.c * t.h * t.w), w = random.floats(conv.weightCount), b = random.floats(t.oc)
        let dy = random.floats(conv.outputCount(batch: t.batch))
        let wT = random.floats(convT.weightCount), dyT = random.floats(convT.outputCount(batch: t.batch))
        let zeros = { (n: Int) in [Float](repeating: 0, count: n) }
        func run() -> [[Float]] {
            let (_, convOut) = withBuffers([x, w, b, zeros(conv.columnCount(batch: t.batch)),
                                            zeros(conv.outputCount(batch: t.batch)), dy, zeros(w.count), zeros(b.count),
                                            zeros(x.count)]) { p in BF16WeightCache.whileWeightsFixed {
                conv.forward(x: p[0], batch: t.batch, weight: p[1], bias: p[2], col: p[3], y: p[4], relu: true,
                             profiler: Profiler())
                conv.backward(dy: p[5], x: p[0], batch: t.batch, weight: p[1], col: p[3], dWeight: p[6], dBias: p[7],
                              dx: p[8], reluOutput: p[4], profiler: Profiler())
            } }
            // The transposed convolution keeps x rounded in `saved` from forward to backward.
            let (_, convTOut) = withBuffers([x, wT, b, zeros(convT.columnCount(batch: t.batch)),
                                             zeros(convT.outputCount(batch: t.batch)), dyT, zeros(wT.count),
                                             zeros(b.count), zeros(x.count),
                                             zeros(convT.savedCount(batch: t.batch))]) { p in BF16WeightCache.whileWeightsFixed {
                convT.forward(x: p[0], batch: t.batch, weight: p[1], bias: p[2], col: p[3], y: p[4], relu: true,
                              saved: p[9], profiler: Profiler())
                convT.backward(dy: p[5], x: p[0], batch: t.batch, weight: p[1], col: p[3], dWeight: p[6],
                               dBias: p[7], dx: p[8], reluOutput: p[4], saved: p[9], profiler: Profiler())
            } }
            // y, dW, db, dX of each (and dY as masked in place).
            return [4, 5, 6, 7, 8].map { convOut[$0] } + [4, 5, 6, 7, 8].map { convTOut[$0] }
        }
        // A scope per layer: the second layer's weights may be allocated where the first's were freed.
        let once = LayerGEMM.with(.bf16) { run() }
        let perProduct = LayerGEMM.withPerCallRounding { run() }
        let fp32 = run()
        for i in once.indices {
            #expect(once[i].map(\.bitPattern) == perProduct[i].map(\.bitPattern), "\(t) output \(i)")
        }
        // The bf16 products did run (the outputs are not fp32's).
        #expect(once[0] != fp32[0] || once[5] != fp32[5], "\(t)")
    }

    /// Within a scope a weight is rounded once; the next scope rounds it again (it may have
    /// changed), and outside a scope, or on an fp32 thread, the f32 tensor itself is the operand.
    @Test(.enabled(if: BF16.isAvailable)) func weightCacheRoundsOncePerScope() {
        var random = TestRandom(5)
        let weights = Buffer(Self.awkward(1000, &random))
        func bits(_ operand: GEMMOperand, count: Int = 1000) -> [UInt16]? {
            guard case .bf16(let p) = operand else { return nil }
            return Array(UnsafeBufferPointer(start: p, count: count))
        }
        #expect(bits(LayerGEMM.with(.bf16) { BF16WeightCache.operand(weights.pointer, count: 1000) }) == nil)
        #expect(bits(BF16WeightCache.whileWeightsFixed { BF16WeightCache.operand(weights.pointer, count: 1000) }) == nil)
        LayerGEMM.with(.bf16) {
            BF16WeightCache.whileWeightsFixed {
                #expect(bits(BF16WeightCache.operand(weights.pointer, count: 1000)) == weights.array.map(BF16.bits))
                // Changed inside the scope (which callers promise not to do): the cached rounding stays.
                let old = weights.array.map(BF16.bits)
                weights.pointer[0] = 3
                #expect(bits(BF16WeightCache.operand(weights.pointer, count: 1000)) == old)
            }
            BF16WeightCache.whileWeightsFixed {
                #expect(bits(BF16WeightCache.operand(weights.pointer, count: 1000)) == weights.array.map(BF16.bits))
                #expect(bits(BF16WeightCache.operand(weights.pointer, count: 500), count: 500)
                        == Array(weights.array.map(BF16.bits)[0..<500]))
            }
        }
    }
}
