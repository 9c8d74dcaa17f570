// Tests of Im2Col, Conv2D and ConvTranspose2D against direct loops, finite differences and each other.
import Testing
import TestSupport
@testable import VAECore

struct ConvCase: CustomStringConvertible, Sendable {
    var c, oc, h, w, k, s, p, batch: Int
    /// Images per im2col chunk (nil: the whole batch at once).
    var chunk: Int? = nil
    var description: String { "C\(c)→\(oc) \(h)×\(w) k\(k) s\(s) p\(p) B\(batch) chunk \(chunk.map(String.init) ?? "all")" }
}

let convCases: [ConvCase] = [
    ConvCase(c: 2, oc: 3, h: 5, w: 7, k: 3, s: 1, p: 0, batch: 3),
    ConvCase(c: 2, oc: 3, h: 5, w: 7, k: 3, s: 1, p: 1, batch: 3),
    ConvCase(c: 3, oc: 2, h: 8, w: 6, k: 4, s: 2, p: 1, batch: 3),
    ConvCase(c: 1, oc: 4, h: 7, w: 9, k: 4, s: 2, p: 0, batch: 3),
    ConvCase(c: 2, oc: 2, h: 6, w: 5, k: 3, s: 2, p: 1, batch: 3),
    ConvCase(c: 1, oc: 1, h: 1, w: 1, k: 3, s: 4, p: 0, batch: 1),
    ConvCase(c: 3, oc: 2, h: 8, w: 6, k: 4, s: 2, p: 1, batch: 3, chunk: 1),
    ConvCase(c: 2, oc: 2, h: 3, w: 35, k: 4, s: 2, p: 1, batch: 2),
    ConvCase(c: 2, oc: 3, h: 5, w: 7, k: 3, s: 1, p: 1, batch: 3, chunk: 2),
]

@Suite struct ConvolutionTests {
    @Test(arguments: convCases.filter { $0.h >= $0.k || $0.p > 0 })
    func convForwardMatchesDirectLoops(_ t: ConvCase) {
        var rng = TestRandom(1)
        var conv = Conv2D(inChannels: t.c, outChannels: t.oc, height: t.h, width: t.w, kernel: t.k, stride: t.s, padding: t.p)
        conv.maxChunk = t.chunk
        let x = rng.floats(t.batch * t.c * t.h * t.w), w = rng.floats(conv.weightCount), b = rng.floats(t.oc)
        let expected = naiveConv(x, batch: t.batch, shape: conv.input, weight: w, bias: b, outChannels: t.oc)
        let xc = swapBatchAndChannels(x, first: t.batch, second: t.c, plane: t.h * t.w)
        let (_, out) = withBuffers([xc, w, b, [Float](repeating: 0, count: conv.columnCount(batch: t.batch)),
                                    [Float](repeating: 0, count: conv.outputCount(batch: t.batch))]) { p in
            conv.forward(x: p[0], batch: t.batch, weight: p[1], bias: p[2], col: p[3], y: p[4], profiler: Profiler())
        }
        let plane = conv.input.outHeight * conv.input.outWidth
        assertClose(swapBatchAndChannels(out[4], first: t.oc, second: t.batch, plane: plane), expected,
                    relative: 1e-4, absolute: 1e-5, "\(t)")
    }

    /// im2col and col2im against their definitions, element by element, for a chunk of images
    /// from the middle of a batch: the generic kernels and the 4×4 stride-2 block-copy ones
    /// (even sides, including 2 × 2 planes and non-square ones, and rows of 64 and 70 pixels,
    /// which the vector kernels take in whole steps and with a tail).
    @Test(arguments: [(3, 8, 6, 4, 2, 1), (2, 2, 2, 4, 2, 1), (1, 4, 10, 4, 2, 1), (2, 16, 16, 4, 2, 1),
                      (2, 7, 9, 4, 2, 1), (2, 8, 6, 4, 2, 0), (2, 6, 5, 3, 1, 1), (2, 6, 70, 4, 2, 1),
                      (1, 4, 64, 4, 2, 1)])
    func im2colAndCol2imMatchTheirDefinitions(_ t: (c: Int, h: Int, w: Int, k: Int, s: Int, p: Int)) {
        var rng = TestRandom(20)
        let shape = ConvShape(channels: t.c, height: t.h, width: t.w, kernel: t.k, stride: t.s, padding: t.p)
        let batch = 5, first = 1, count = 3
        let x = rng.floats(t.c * batch * t.h * t.w)
        let expected = naiveIm2col(x, batch: batch, first: first, count: count, shape: shape)
        let (_, a) = withBuffers([x, [Float](repeating: .nan, count: expected.count)]) { p in
            im2col(p[0], batch: batch, first: first, count: count, shape: shape, into: p[1])
        }
        let wrong = zip(a[1], expected).filter { $0 != $1 }.count
        #expect(wrong == 0, "im2col \(t): \(wrong) of \(expected.count) entries differ")
        let cols = rng.floats(expected.count), start = rng.floats(x.count)
        let summed = naiveCol2im(cols, batch: batch, first: first, count: count, shape: shape, into: start)
        let (_, b) = withBuffers([cols, start]) { p in
            col2im(p[0], batch: batch, first: first, count: count, shape: shape, into: p[1])
        }
        assertClose(b[1], summed, relative: 1e-5, absolute: 1e-6, "col2im \(t)")
    }

    @Test(arguments: convCases)
    func col2imIsTheAdjointOfIm2col(_ t: ConvCase) {
        var rng = TestRandom(2)
        let shape = ConvShape(channels: t.c, height: t.h, width: t.w, kernel: t.k, stride: t.s, padding: t.p)
        let x = rng.floats(t.batch * t.c * t.h * t.w)
        let cols = rng.floats(shape.columnRows * t.batch * shape.outHeight * shape.outWidth)
        let (_, a) = withBuffers([x, [Float](repeating: 0, count: cols.count)]) { p in
            im2col(p[0], batch: t.batch, shape: shape, into: p[1])
        }
        let (_, b) = withBuffers([cols, [Float](repeating: 0, count: x.count)]) { p in
            col2im(p[0], batch: t.batch, shape: shape, into: p[1])
        }
        assertClose(dot(a[1], cols), dot(x, b[1]), relative: 1e-5, absolute: 1e-5, "\(t)")
    }

    @Test(arguments: convCases.filter { $0.h >= $0.k || $0.p > 0 })
    func convTransposeForwardMatchesDirectLoops(_ t: ConvCase) {
        var rng = TestRandom(3)
        var op = ConvTranspose2D(inChannels: t.c, outChannels: t.oc, height: t.h, width: t.w, kernel: t.k,
                                 stride: t.s, padding: t.p)
        op.maxChunk = t.chunk
        let x = rng.floats(t.batch * t.c * t.h * t.w), w = rng.floats(op.weightCount), b = rng.floats(t.oc)
        let expected = naiveConvTranspose(x, batch: t.batch, inChannels: t.c, height: t.h, width: t.w, outChannels: t.oc,
                                          kernel: t.k, stride: t.s, padding: t.p, weight: w, bias: b)
        let xc = swapBatchAndChannels(x, first: t.batch, second: t.c, plane: t.h * t.w)
        for relu in [false, true] {
            // y starts as garbage: forward overwrites it.
            let (_, out) = withBuffers([xc, w, b, [Float](repeating: 0, count: op.columnCount(batch: t.batch)),
                                        [Float](repeating: 7, count: op.outputCount(batch: t.batch))]) { p in
                op.forward(x: p[0], batch: t.batch, weight: p[1], bias: p[2], col: p[3], y: p[4], relu: relu,
                           profiler: Profiler())
            }
            assertClose(swapBatchAndChannels(out[4], first: t.oc, second: t.batch, plane: op.outHeight * op.outWidth),
                        relu ? expected.map { max($0, 0) } : expected, relative: 1e-4, absolute: 1e-5, "\(t) relu \(relu)")
        }
    }

    /// ⟨conv(x), y⟩ = ⟨x, convT(y)⟩ when both use the same weights and no bias.
    @Test func convTransposeIsTheAdjointOfConv() {
        var rng = TestRandom(4)
        let (c, oc, h, w, batch) = (3, 5, 8, 6, 3)
        let conv = Conv2D(inChannels: c, outChannels: oc, height: h, width: w, kernel: 4, stride: 2, padding: 1)
        let (OH, OW) = (conv.input.outHeight, conv.input.outWidth)
        let convT = ConvTranspose2D(inChannels: oc, outChannels: c, height: OH, width: OW, kernel: 4, stride: 2, padding: 1)
        #expect(convT.outHeight == h && convT.outWidth == w)
        let weight = rng.floats(conv.weightCount)   // (OC, C, k, k) read by convT as (in = OC, out = C, k, k)
        let x = rng.floats(c * batch * h * w), y = rng.floats(oc * batch * OH * OW)
        let zeros = { (n: Int) in [Float](repeating: 0, count: n) }
        let (_, a) = withBuffers([x, weight, zeros(oc), zeros(conv.columnCount(batch: batch)), zeros(y.count)]) { p in
            conv.forward(x: p[0], batch: batch, weight: p[1], bias: p[2], col: p[3], y: p[4], profiler: Profiler())
        }
        let (_, b) = withBuffers([y, weight, zeros(c), zeros(convT.columnCount(batch: batch)), zeros(x.count)]) { p in
            convT.forward(x: p[0], batch: batch, weight: p[1], bias: p[2], col: p[3], y: p[4], profiler: Profiler())
        }
        assertClose(dot(a[4], y), dot(x, b[4]), relative: 1e-5, absolute: 1e-4)
    }

    /// Analytic dX, dW, db of L = ⟨conv(x), r⟩ against central differences (step 1e-2, sums in Double).
    @Test(arguments: [convCases[1], convCases[2], convCases[4], convCases[6], convCases[7]])
    func convGradientsMatchFiniteDifferences(_ t: ConvCase) {
        var rng = TestRandom(5)
        var conv = Conv2D(inChannels: t.c, outChannels: t.oc, height: t.h, width: t.w, kernel: t.k, stride: t.s, padding: t.p)
        conv.maxChunk = t.chunk
        let n = conv.outputCount(batch: t.batch)
        let x = rng.floats(t.batch * t.c * t.h * t.w), w = rng.floats(conv.weightCount), b = rng.floats(t.oc)
        let r = rng.floats(n)
        let zeros = { (n: Int) in [Float](repeating: 0, count: n) }
        func loss(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            let (_, o) = withBuffers([x, w, b, zeros(conv.columnCount(batch: t.batch)), zeros(n)]) { p in
                conv.forward(x: p[0], batch: t.batch, weight: p[1], bias: p[2], col: p[3], y: p[4], profiler: Profiler())
            }
            return dot(o[4], r)
        }
        // dX starts as garbage: backward overwrites it.
        let (_, g) = withBuffers([x, w, b, zeros(conv.columnCount(batch: t.batch)), zeros(n), r,
                                  zeros(w.count), zeros(b.count), [Float](repeating: 7, count: x.count)]) { p in
            conv.forward(x: p[0], batch: t.batch, weight: p[1], bias: p[2], col: p[3], y: p[4], profiler: Profiler())
            conv.backward(dy: p[5], x: p[0], batch: t.batch, weight: p[1], col: p[3], dWeight: p[6], dBias: p[7], dx: p[8],
                          profiler: Profiler())
        }
        checkFiniteDifferences(x, analytic: g[8], "dX \(t)") { loss($0, w, b) }
        checkFiniteDifferences(w, analytic: g[6], "dW \(t)") { loss(x, $0, b) }
        checkFiniteDifferences(b, analytic: g[7], "db \(t)") { loss(x, w, $0) }
    }

    @Test(arguments: [convCases[0], convCases[2], convCases[4], convCases[6], convCases[7]])
    func convTransposeGradientsMatchFiniteDifferences(_ t: ConvCase) {
        var rng = TestRandom(6)
        var op = ConvTranspose2D(inChannels: t.c, outChannels: t.oc, height: t.h, width: t.w, kernel: t.k,
                                 stride: t.s, padding: t.p)
        op.maxChunk = t.chunk
        let n = op.outputCount(batch: t.batch)
        let x = rng.floats(t.batch * t.c * t.h * t.w), w = rng.floats(op.weightCount), b = rng.floats(t.oc)
        let r = rng.floats(n)
        let zeros = { (n: Int) in [Float](repeating: 0, count: n) }
        func loss(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            let (_, o) = withBuffers([x, w, b, zeros(op.columnCount(batch: t.batch)), zeros(n)]) { p in
                op.forward(x: p[0], batch: t.batch, weight: p[1], bias: p[2], col: p[3], y: p[4], profiler: Profiler())
            }
            return dot(o[4], r)
        }
        let (_, g) = withBuffers([x, w, b, zeros(op.columnCount(batch: t.batch)), zeros(n), r,
                                  zeros(w.count), zeros(b.count), zeros(x.count)]) { p in
            op.forward(x: p[0], batch: t.batch, weight: p[1], bias: p[2], col: p[3], y: p[4], profiler: Profiler())
            op.backward(dy: p[5], x: p[0], batch: t.batch, weight: p[1], col: p[3], dWeight: p[6], dBias: p[7],
                        dx: p[8], profiler: Profiler())
        }
        checkFiniteDifferences(x, analytic: g[8], "dX \(t)") { loss($0, w, b) }
        checkFiniteDifferences(w, analytic: g[6], "dW \(t)") { loss(x, $0, b) }
        checkFiniteDifferences(b, analytic: g[7], "db \(t)") { loss(x, w, $0) }
    }
}

/// Compares `analytic` with central differences of `f` at up to 40 coordinates of `x`.
func checkFiniteDifferences(_ x: [Float], analytic: [Float], step: Float = 1e-2, relative: Double = 1e-2,
                            absolute: Double = 1e-3, _ what: String, _ f: ([Float]) -> Double) {
    var rng = TestRandom(99)
    let picks = x.count <= 40 ? Array(0..<x.count) : (0..<40).map { _ in Int(rng.next() % UInt64(x.count)) }
    for i in picks {
        var plus = x, minus = x
        plus[i] += step
        minus[i] -= step
        let numeric = (f(plus) - f(minus)) / Double(2 * step)
        if !isClose(Double(analytic[i]), numeric, relative: relative, absolute: absolute) {
            Issue.record("\(what) [\(i)]: analytic \(analytic[i]) vs numeric \(numeric)")
            return
        }
    }
}
