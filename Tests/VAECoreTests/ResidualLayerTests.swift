// The residual-family layers through the Layer protocol: ResidualBlock, Upsample and 3×3 convolutions against their definitions and finite differences.
import Foundation
import Testing
import TestSupport
@testable import VAECore

/// Runs `layer` forward on x with `params`, with a saved slice of its own; returns y and the saved slice.
func forwardWithSaved(_ layer: any Layer, _ x: [Float], params: [Float], batch: Int) -> (y: [Float], saved: Buffer) {
    let y = Buffer(count: batch * layer.outputShape.count), scratch = Buffer(count: layer.scratchCount(batch: batch))
    let saved = Buffer(count: layer.savedCount(batch: batch)), p = Buffer(params), input = Buffer(x)
    layer.forward(input.pointer, into: y.pointer, saved: saved.pointer, batch: batch, parameters: p.pointer,
                  scratch: scratch.pointer, profiler: Profiler())
    withExtendedLifetime((input, p, scratch)) {}
    return (y.array, saved)
}

/// Forward then backward with dy = r. Parameter gradients start at 0.5 and dx at 7, so that the
/// result shows the convention: gradients added (0.5 is taken off again), dx overwritten.
func gradients(_ layer: any Layer, _ x: [Float], params: [Float], r: [Float], batch: Int, inputGradient: Bool = true)
    -> (dx: [Float], dParams: [Float]) {
    let (y, saved) = forwardWithSaved(layer, x, params: params, batch: batch)
    let scratch = Buffer(count: layer.scratchCount(batch: batch)), p = Buffer(params), input = Buffer(x)
    let output = Buffer(y), dy = Buffer(r), dx = Buffer([Float](repeating: 7, count: x.count))
    let dp = Buffer([Float](repeating: 0.5, count: params.count))
    layer.backward(dy.pointer, x: input.pointer, y: output.pointer, saved: saved.pointer,
                   dx: inputGradient ? dx.pointer : nil, batch: batch, parameters: p.pointer, gradients: dp.pointer,
                   scratch: scratch.pointer, profiler: Profiler())
    withExtendedLifetime((input, p, scratch, output, saved)) {}
    return (dx.array, dp.array.map { $0 - 0.5 })
}

/// ⟨layer(x; params), r⟩ in Double.
func innerProduct(_ layer: any Layer, _ x: [Float], params: [Float], r: [Float], batch: Int) -> Double {
    dot(forwardWithSaved(layer, x, params: params, batch: batch).y, r)
}

@Suite struct ResidualLayerTests {
    /// y = x + conv2(act(conv1(act(x)))) against direct convolutions, with both activations.
    @Test(arguments: [ResidualBlock.Activation.relu, .silu])
    func residualBlockForwardMatchesItsDefinition(_ activation: ResidualBlock.Activation) {
        var rng = TestRandom(11)
        let (C, H, W, B) = (3, 5, 6, 2)
        let block = ResidualBlock(channels: C, height: H, width: W, activation: activation)
        let params = rng.floats(block.parameterCount, -0.5, 0.5), x = rng.floats(B * C * H * W, -2, 2)
        let y = forwardWithSaved(block, x, params: params, batch: B).y
        // The definition, image-major, with the naive convolution.
        let act: (Float) -> Float = activation == .relu ? { Swift.max($0, 0) } : { $0 / (1 + exp(-$0)) }
        let shape = ConvShape(channels: C, height: H, width: W, kernel: 3, stride: 1, padding: 1)
        let wc = C * C * 9
        let w1 = Array(params[0..<wc]), b1 = Array(params[wc..<(wc + C)])
        let w2 = Array(params[(wc + C)..<(2 * wc + C)]), b2 = Array(params[(2 * wc + C)...])
        let xi = swapBatchAndChannels(x, first: C, second: B, plane: H * W)
        let u = naiveConv(xi.map(act), batch: B, shape: shape, weight: w1, bias: b1, outChannels: C)
        let v = naiveConv(u.map(act), batch: B, shape: shape, weight: w2, bias: b2, outChannels: C)
        let expected = swapBatchAndChannels(zip(xi, v).map { $0 + $1 }, first: B, second: C, plane: H * W)
        assertClose(y, expected, relative: 1e-5, absolute: 1e-5, "residual \(activation)")
    }

    /// dx (skip included) and the gradients of conv1 and conv2 of ⟨block(x), r⟩ against central
    /// differences; and without an input gradient (first layer) the same parameter gradients.
    @Test(arguments: [ResidualBlock.Activation.relu, .silu])
    func residualBlockGradientsMatchFiniteDifferences(_ activation: ResidualBlock.Activation) {
        var rng = TestRandom(12)
        let (C, H, W, B) = (2, 4, 5, 3)
        let block = ResidualBlock(channels: C, height: H, width: W, activation: activation)
        var params = rng.floats(block.parameterCount, -0.3, 0.3)
        // Away from ReLU's kinks, so that the differences stay on one side of them: |x| ≥ 0.1, and
        // conv1's biases ±4 (one channel passed, one masked; the mixed case is in the golden tests).
        let x = rng.floats(B * C * H * W, -2, 2).map { $0 < 0 ? $0 - 0.1 : $0 + 0.1 }
        params[block.conv1Bias] = 4
        params[block.conv1Bias + 1] = -4
        let r = rng.floats(x.count)
        let g = gradients(block, x, params: params, r: r, batch: B)
        checkFiniteDifferences(x, analytic: g.dx, "residual \(activation) dx") {
            innerProduct(block, $0, params: params, r: r, batch: B)
        }
        checkFiniteDifferences(params, analytic: g.dParams, "residual \(activation) dparams") {
            innerProduct(block, x, params: $0, r: r, batch: B)
        }
        let noInput = gradients(block, x, params: params, r: r, batch: B, inputGradient: false)
        assertClose(noInput.dParams, g.dParams, relative: 1e-6, absolute: 1e-6, "without dx")
        #expect(noInput.dx.allSatisfy { $0 == 7 }, "dx untouched when not asked for")
    }

    /// Each value becomes a 2×2 block; backward sums the block (exactly, so finite differences agree too).
    @Test func upsampleForwardAndBackward() {
        var rng = TestRandom(13)
        let (C, H, W, B) = (2, 3, 4, 2)
        let layer = Upsample(input: TensorShape(channels: C, height: H, width: W))
        #expect(layer.outputShape == TensorShape(channels: C, height: 2 * H, width: 2 * W))
        let x = rng.floats(C * B * H * W)
        let y = forwardWithSaved(layer, x, params: [], batch: B).y
        for plane in 0..<(C * B) {
            for oh in 0..<(2 * H) {
                for ow in 0..<(2 * W) {
                    #expect(y[(plane * 2 * H + oh) * 2 * W + ow] == x[(plane * H + oh / 2) * W + ow / 2])
                }
            }
        }
        let r = rng.floats(y.count), g = gradients(layer, x, params: [], r: r, batch: B)
        var expected = [Float](repeating: 0, count: x.count)
        for plane in 0..<(C * B) {
            for oh in 0..<(2 * H) { for ow in 0..<(2 * W) { expected[(plane * H + oh / 2) * W + ow / 2] += r[(plane * 2 * H + oh) * 2 * W + ow] } }
        }
        assertClose(g.dx, expected, relative: 1e-6, absolute: 1e-6, "upsample dx")
        checkFiniteDifferences(x, analytic: g.dx, "upsample dx") { innerProduct(layer, $0, params: [], r: r, batch: B) }
    }

    /// 3×3 convolutions with padding 1, stride 1 and 2, even and odd sides, ReLU fused or not,
    /// through the Layer protocol: dx, dW, db against central differences.
    @Test(arguments: [(1, 8, false), (2, 8, true), (1, 7, true), (2, 7, false), (2, 5, true)])
    func conv3x3GradientsMatchFiniteDifferences(_ t: (stride: Int, side: Int, relu: Bool)) {
        var rng = TestRandom(14)
        let (C, OC, B) = (3, 4, 2)
        let conv = Conv2D(inChannels: C, outChannels: OC, height: t.side, width: t.side, kernel: 3, stride: t.stride,
                          padding: 1, relu: t.relu)
        #expect(conv.outputShape.height == (t.side - 1) / t.stride + 1)
        let params = rng.floats(conv.parameterCount, -0.5, 0.5), x = rng.floats(B * C * t.side * t.side)
        let r = rng.floats(B * conv.outputShape.count)
        let g = gradients(conv, x, params: params, r: r, batch: B)
        // Step 1e-3: small enough that no output of these values crosses ReLU's kink.
        checkFiniteDifferences(x, analytic: g.dx, step: 1e-3, "conv3x3 \(t) dx") {
            innerProduct(conv, $0, params: params, r: r, batch: B)
        }
        checkFiniteDifferences(params, analytic: g.dParams, step: 1e-3, "conv3x3 \(t) dparams") {
            innerProduct(conv, x, params: $0, r: r, batch: B)
        }
    }
}

/// The 3×3 stride-1 padding-1 block-copy im2col and col2im against their definitions, on a chunk
/// from the middle of a batch, over planes down to 1×1 (where every shifted entry is padding).
@Suite struct Im2ColK3S1Tests {
    @Test(arguments: [(2, 5, 7, 4, 1, 2), (3, 4, 4, 3, 0, 3), (1, 1, 1, 2, 1, 1), (2, 1, 6, 3, 2, 1), (1, 6, 1, 2, 0, 2),
                      (2, 8, 8, 5, 1, 3)])
    func blockCopiesMatchTheDefinition(_ t: (c: Int, h: Int, w: Int, batch: Int, first: Int, count: Int)) {
        var rng = TestRandom(15)
        let shape = ConvShape(channels: t.c, height: t.h, width: t.w, kernel: 3, stride: 1, padding: 1)
        #expect(shape.isK3S1P1)
        let plane = t.h * t.w, x = rng.floats(t.c * t.batch * plane), total = t.count * plane
        // col[(c·3 + kh)·3 + kw][b·HW + oh·W + ow] = x[c][first + b][oh + kh − 1][ow + kw − 1], 0 outside.
        var expected = [Float](repeating: 0, count: 9 * t.c * total)
        for c in 0..<t.c { for kh in 0..<3 { for kw in 0..<3 { for b in 0..<t.count { for oh in 0..<t.h { for ow in 0..<t.w {
            let ih = oh + kh - 1, iw = ow + kw - 1
            guard ih >= 0, ih < t.h, iw >= 0, iw < t.w else { continue }
            expected[((c * 3 + kh) * 3 + kw) * total + b * plane + oh * t.w + ow] = x[(c * t.batch + t.first + b) * plane + ih * t.w + iw]
        } } } } } }
        let (_, made) = withBuffers([x, [Float](repeating: 9, count: expected.count)]) { p in
            im2col(p[0], batch: t.batch, first: t.first, count: t.count, shape: shape, into: p[1])
        }
        #expect(made[1] == expected)
        // col2im is its adjoint: ⟨im2col(x), r⟩ = ⟨x, col2im(r)⟩, and it leaves the other images alone.
        let r = rng.floats(expected.count), base = rng.floats(x.count)
        let (_, added) = withBuffers([r, base]) { p in
            col2im(p[0], batch: t.batch, first: t.first, count: t.count, shape: shape, into: p[1])
        }
        let adjoint = zip(added[1], base).map { $0 - $1 }
        assertClose(dot(adjoint, x), dot(expected, r), relative: 1e-5, absolute: 1e-4, "adjoint \(t)")
        for i in 0..<x.count where (i / plane) % t.batch < t.first || (i / plane) % t.batch >= t.first + t.count {
            #expect(adjoint[i] == 0)
        }
        // With assign: the sum, plus bias, through ReLU, over whatever the chunk held.
        let bias = rng.floats(t.c)
        let (_, assigned) = withBuffers([r, [Float](repeating: 5, count: x.count), bias]) { p in
            col2im(p[0], batch: t.batch, first: t.first, count: t.count, shape: shape, into: p[1], assign: true,
                   bias: p[2], relu: true)
        }
        for c in 0..<t.c {
            for b in t.first..<(t.first + t.count) {
                for j in 0..<plane {
                    let i = (c * t.batch + b) * plane + j
                    #expect(isClose(Double(assigned[1][i]), Double(Swift.max(adjoint[i] + bias[c], 0)), relative: 1e-5, absolute: 1e-5))
                }
            }
        }
    }
}
