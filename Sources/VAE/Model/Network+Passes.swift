// Network+Passes: encode, decode, the loss and the backward pass over one thread's share of a batch, as loops over the layer list.
import Foundation
import VAECore

extension Network {
    /// The input images channel-major, as the first layer reads them: the images themselves
    /// when there is one channel, else the copy encode() made.
    func inputChannelMajor(_ images: UnsafePointer<Float>, in ws: Workspace) -> UnsafePointer<Float> {
        config.channels > 1 ? UnsafePointer(ws.inputCBHW.pointer) : images
    }

    /// images (B, C, H, W) in [0, 1] → ws.mean, ws.logVariance (B, latent).
    public func encode(_ images: UnsafePointer<Float>, batch: Int, params: UnsafePointer<Float>, in ws: Workspace) {
        precondition(batch <= ws.capacity, "batch larger than the workspace")
        let prof = ws.profiler
        if config.channels > 1 {
            prof.time(.elementwise) {
                imageMajorToChannelMajor(images, ws.inputCBHW.pointer, channels: config.channels, batch: batch,
                                         plane: config.size * config.size)
            }
        }
        let x = forward(encoder, from: inputChannelMajor(images, in: ws), into: ws.encoderOutputs,
                        saved: ws.encoderSaved, batch: batch, params: params, in: ws)
        prof.time(layer: "heads forward") {
            meanHead.forward(x: x, batch: batch, weight: params + meanOffset, bias: params + meanOffset + meanHead.weightCount,
                             y: ws.mean.pointer, profiler: prof)
            logVarianceHead.forward(x: x, batch: batch, weight: params + logVarianceOffset,
                                    bias: params + logVarianceOffset + logVarianceHead.weightCount,
                                    y: ws.logVariance.pointer, profiler: prof)
            if let bound = config.latentClamp {
                LatentClamp.forward(ws.mean.pointer, count: batch * config.latent, bound: bound)
                LatentClamp.forward(ws.logVariance.pointer, count: batch * config.latent, bound: 2 * bound)
            }
        }
    }

    /// ws.z (B, latent) → ws.logits (B, C', H, W), the likelihood's parameters.
    public func decode(batch: Int, params: UnsafePointer<Float>, in ws: Workspace) {
        let x = forward(decoder, from: ws.z.pointer, into: ws.decoderOutputs, saved: ws.decoderSaved, batch: batch,
                        params: params, in: ws)
        if outputShape.channels > 1 {
            ws.profiler.time(.elementwise) {
                channelMajorToImageMajor(x, ws.logits.pointer, channels: outputShape.channels, batch: batch,
                                         plane: outputShape.height * outputShape.width)
            }
        }
    }

    /// Runs `layers` in order from `x`, each writing its own output buffer; returns the last output.
    /// `saved` holds what each layer keeps for its backward pass beyond its input and output.
    func forward(_ layers: [NetworkLayer], from x: UnsafePointer<Float>, into outputs: [Buffer], saved: [Buffer],
                 batch: Int, params: UnsafePointer<Float>, in ws: Workspace) -> UnsafePointer<Float> {
        var x = x
        for (i, l) in layers.enumerated() {
            let y = outputs[i].pointer
            ws.profiler.time(layer: l.name + " forward") {
                l.layer.forward(x, into: y, saved: saved[i].pointer, batch: batch, parameters: params + l.offset,
                                scratch: ws.scratch.pointer, profiler: ws.profiler)
            }
            x = UnsafePointer(y)
        }
        return x
    }

    /// Runs `layers` backwards from the gradient in the last of `grads`: layer i reads its input
    /// (`input` for the first), its output and its output's gradient, and writes its input's
    /// gradient into grads[i − 1], or `inputGrad` for the first (nil: not needed).
    func backward(_ layers: [NetworkLayer], input: UnsafePointer<Float>, inputGrad: FloatPointer?, outputs: [Buffer],
                  saved: [Buffer], grads: [Buffer], batch: Int, params: UnsafePointer<Float>, in ws: Workspace,
                  finished: ((Int) -> Void)?) {
        for i in layers.indices.reversed() {
            let l = layers[i]
            ws.profiler.time(layer: l.name + " backward") {
                let x = i == 0 ? input : UnsafePointer(outputs[i - 1].pointer)
                l.layer.backward(grads[i].pointer, x: x, y: outputs[i].pointer, saved: saved[i].pointer,
                                 dx: i == 0 ? inputGrad : grads[i - 1].pointer, batch: batch, parameters: params + l.offset, gradients: ws.grads.pointer + l.offset,
                                 scratch: ws.scratch.pointer, profiler: ws.profiler)
            }
            finished?(l.offset)
        }
    }

    /// z = mean + exp(logvar/2)·eps for the batch, with ws.eps already filled.
    public func sampleLatent(batch: Int, in ws: Workspace) {
        ws.profiler.time(.elementwise) {
            reparameterize(mean: ws.mean.pointer, logVariance: ws.logVariance.pointer, eps: ws.eps.pointer,
                           z: ws.z.pointer, count: batch * config.latent)
        }
    }

    /// Fills ws.reconstruction and ws.kl per image (nats) for the decoded ws.logits against `images`.
    /// With `gradientScale` set, also leaves dLoss/dlogits, dLoss/dmean and dLoss/dlogvar in the
    /// workspace for loss = gradientScale · Σ_b (reconstruction_b + beta · kl_b), and adds the
    /// likelihood's own parameters' gradients to ws.grads.
    public func evaluateLoss(_ images: UnsafePointer<Float>, batch: Int, params: UnsafePointer<Float>, in ws: Workspace,
                             beta: Float = 1, gradientScale: Float? = nil) {
        let L = config.latent, scale = gradientScale ?? 1
        ws.profiler.time(.loss) {
            ws.reconstruction.withUnsafeMutableBufferPointer { nll in
                likelihood.negativeLogLikelihood(
                    output: ws.logits.pointer, targets: images, batch: batch, image: imageShape,
                    parameters: params + likelihoodOffset, into: nll.baseAddress!,
                    gradient: gradientScale == nil ? nil : ws.logitsGrad.pointer,
                    parameterGradients: gradientScale == nil ? nil : ws.grads.pointer + likelihoodOffset, scale: scale)
            }
            if gradientScale != nil {
                ws.meanGrad.zero()
                ws.logVarianceGrad.zero()
            }
            if let prior {
                klLearnedPrior(prior, batch: batch, params: params, in: ws, beta: beta, gradientScale: gradientScale)
                return
            }
            for b in 0..<batch {
                ws.kl[b] = klStandardNormal(
                    mean: ws.mean.pointer + b * L, logVariance: ws.logVariance.pointer + b * L, count: L,
                    dMean: gradientScale == nil ? nil : ws.meanGrad.pointer + b * L,
                    dLogVariance: gradientScale == nil ? nil : ws.logVarianceGrad.pointer + b * L,
                    scale: beta * scale)
            }
        }
    }

    /// ws.kl[b] = log q(z|x) − log p(z) at the drawn z (ws.z, ws.eps), the one-sample estimate of
    /// KL(q ‖ p) a learned prior needs. Its gradient, with z = μ + σ·ε and ε held: log q(z|x) =
    /// Σⱼ −½(εⱼ² + log σⱼ² + log 2π) moves only with log σ² (−½ each); −log p(z) reaches μ through
    /// z (∂z/∂μ = 1) and log σ² through z (∂z/∂log σ² = ½σε = ½(z − μ)), and the prior's own parameters.
    func klLearnedPrior(_ prior: MixturePrior, batch: Int, params: UnsafePointer<Float>, in ws: Workspace, beta: Float,
                        gradientScale: Float?) {
        let L = config.latent, halfLogTwoPi = Float(0.5 * log(2 * Double.pi))
        let weight = beta * (gradientScale ?? 1)
        let priorGradients = gradientScale == nil ? nil : ws.grads.pointer + priorOffset
        let table = prior.table(params + priorOffset)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: prior.components + L) { buffer in
            let scratch = buffer.baseAddress!, dz = scratch + prior.components
            for b in 0..<batch {
                let z = ws.z.pointer + b * L, eps = ws.eps.pointer + b * L, logVariance = ws.logVariance.pointer + b * L
                var logQ: Float = 0
                for j in 0..<L { logQ -= 0.5 * (eps[j] * eps[j] + logVariance[j]) + halfLogTwoPi }
                // The loss is −log p(z): the prior's parameters get −weight × its gradient.
                let logP = prior.logDensity(z, parameters: params + priorOffset, table: table, scratch: scratch,
                                            dz: gradientScale == nil ? nil : dz, gradients: priorGradients, scale: -weight)
                ws.kl[b] = Double(logQ) - Double(logP)
                guard gradientScale != nil else { continue }
                let dMean = ws.meanGrad.pointer + b * L, dLogVariance = ws.logVarianceGrad.pointer + b * L
                let mean = ws.mean.pointer + b * L
                for j in 0..<L {
                    dMean[j] += -weight * dz[j]
                    dLogVariance[j] += weight * (-0.5 - dz[j] * 0.5 * (z[j] - mean[j]))
                }
            }
        }
    }

    /// Backpropagates the gradients evaluateLoss left, adding every parameter's gradient to ws.grads.
    /// `finished(offset)`, when given, is called each time the gradients of the parameters from
    /// `offset` up are final (after each layer, from the top of the layout down: `backwardBoundaries`),
    /// so that their sum across ranks can start while the pass goes on (GradientExchange).
    public func backward(_ images: UnsafePointer<Float>, batch: Int, params: UnsafePointer<Float>, in ws: Workspace,
                         finished: ((Int) -> Void)? = nil) {
        let prof = ws.profiler, grads = ws.grads.pointer
        // The likelihood's own parameters got theirs in evaluateLoss.
        finished?(likelihoodOffset)
        if outputShape.channels > 1 {
            prof.time(.elementwise) {
                imageMajorToChannelMajor(ws.logitsGrad.pointer, ws.decoderGrads.last!.pointer, channels: outputShape.channels,
                                         batch: batch, plane: outputShape.height * outputShape.width)
            }
        }
        backward(decoder, input: ws.z.pointer, inputGrad: ws.zGrad.pointer, outputs: ws.decoderOutputs,
                 saved: ws.decoderSaved, grads: ws.decoderGrads, batch: batch, params: params, in: ws, finished: finished)
        prof.time(.elementwise) {
            reparameterizeBackward(dz: ws.zGrad.pointer, logVariance: ws.logVariance.pointer, eps: ws.eps.pointer,
                                   dMean: ws.meanGrad.pointer, dLogVariance: ws.logVarianceGrad.pointer,
                                   count: batch * config.latent)
        }
        let features = ws.encoderOutputs.last!.pointer, featuresGrad = ws.encoderGrads.last!.pointer
        prof.time(layer: "heads backward") {
            if let bound = config.latentClamp {
                LatentClamp.backward(ws.meanGrad.pointer, output: ws.mean.pointer, count: batch * config.latent, bound: bound)
                LatentClamp.backward(ws.logVarianceGrad.pointer, output: ws.logVariance.pointer, count: batch * config.latent,
                                     bound: 2 * bound)
            }
            meanHead.backward(dy: ws.meanGrad.pointer, x: features, batch: batch, weight: params + meanOffset,
                              dWeight: grads + meanOffset, dBias: grads + meanOffset + meanHead.weightCount,
                              dx: featuresGrad, profiler: prof)
            // Both heads read the features: the second adds its input gradient to the first's.
            logVarianceHead.backward(dy: ws.logVarianceGrad.pointer, x: features, batch: batch,
                                     weight: params + logVarianceOffset, dWeight: grads + logVarianceOffset,
                                     dBias: grads + logVarianceOffset + logVarianceHead.weightCount, dx: featuresGrad,
                                     accumulate: true, profiler: prof)
        }
        finished?(meanOffset)
        // The images need no gradient.
        backward(encoder, input: inputChannelMajor(images, in: ws), inputGrad: nil, outputs: ws.encoderOutputs,
                 saved: ws.encoderSaved, grads: ws.encoderGrads, batch: batch, params: params, in: ws, finished: finished)
    }

    /// The offsets `backward` reports to `finished`, in the order it does: from the top down, ending at 0.
    public var backwardBoundaries: [Int] {
        [likelihoodOffset] + decoder.reversed().map(\.offset) + [meanOffset] + encoder.reversed().map(\.offset)
    }
}
