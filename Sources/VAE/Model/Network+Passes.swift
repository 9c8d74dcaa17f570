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
        var x = inputChannelMajor(images, in: ws)
        for (i, l) in encoder.enumerated() {
            let y = ws.encoderOutputs[i].pointer
            prof.time(layer: l.name + " forward") {
                l.layer.forward(x, into: y, saved: ws.encoderSaved[i].pointer, batch: batch, parameters: params + l.offset,
                                scratch: ws.scratch.pointer, profiler: prof)
            }
            x = UnsafePointer(y)
        }
        prof.time(layer: "heads forward") {
            meanHead.forward(x: x, batch: batch, weight: params + meanOffset, bias: params + meanOffset + meanHead.weightCount,
                             y: ws.mean.pointer, profiler: prof)
            logVarianceHead.forward(x: x, batch: batch, weight: params + logVarianceOffset,
                                    bias: params + logVarianceOffset + logVarianceHead.weightCount,
                                    y: ws.logVariance.pointer, profiler: prof)
        }
    }

    /// ws.z (B, latent) → ws.logits (B, C', H, W), the likelihood's parameters.
    public func decode(batch: Int, params: UnsafePointer<Float>, in ws: Workspace) {
        let prof = ws.profiler
        var x = UnsafePointer(ws.z.pointer)
        for (i, l) in decoder.enumerated() {
            let y = ws.decoderOutputs[i].pointer
            prof.time(layer: l.name + " forward") {
                l.layer.forward(x, into: y, saved: ws.decoderSaved[i].pointer, batch: batch, parameters: params + l.offset,
                                scratch: ws.scratch.pointer, profiler: prof)
            }
            x = UnsafePointer(y)
        }
        if outputShape.channels > 1 {
            prof.time(.elementwise) {
                channelMajorToImageMajor(x, ws.logits.pointer, channels: outputShape.channels, batch: batch,
                                         plane: outputShape.height * outputShape.width)
            }
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
            for b in 0..<batch {
                ws.kl[b] = klStandardNormal(
                    mean: ws.mean.pointer + b * L, logVariance: ws.logVariance.pointer + b * L, count: L,
                    dMean: gradientScale == nil ? nil : ws.meanGrad.pointer + b * L,
                    dLogVariance: gradientScale == nil ? nil : ws.logVarianceGrad.pointer + b * L,
                    scale: beta * scale)
            }
        }
    }

    /// Backpropagates the gradients evaluateLoss left, adding every parameter's gradient to ws.grads.
    public func backward(_ images: UnsafePointer<Float>, batch: Int, params: UnsafePointer<Float>, in ws: Workspace) {
        let prof = ws.profiler, grads = ws.grads.pointer, scratch = ws.scratch.pointer
        if outputShape.channels > 1 {
            prof.time(.elementwise) {
                imageMajorToChannelMajor(ws.logitsGrad.pointer, ws.decoderGrads.last!.pointer, channels: outputShape.channels,
                                         batch: batch, plane: outputShape.height * outputShape.width)
            }
        }
        for i in decoder.indices.reversed() {
            let l = decoder[i]
            prof.time(layer: l.name + " backward") {
                let x = i == 0 ? ws.z.pointer : ws.decoderOutputs[i - 1].pointer
                let dx = i == 0 ? ws.zGrad.pointer : ws.decoderGrads[i - 1].pointer
                l.layer.backward(ws.decoderGrads[i].pointer, x: x, y: ws.decoderOutputs[i].pointer,
                                 saved: ws.decoderSaved[i].pointer, dx: dx, batch: batch,
                                 parameters: params + l.offset, gradients: grads + l.offset, scratch: scratch,
                                 profiler: prof)
            }
        }
        prof.time(.elementwise) {
            reparameterizeBackward(dz: ws.zGrad.pointer, logVariance: ws.logVariance.pointer, eps: ws.eps.pointer,
                                   dMean: ws.meanGrad.pointer, dLogVariance: ws.logVarianceGrad.pointer,
                                   count: batch * config.latent)
        }
        let features = ws.encoderOutputs.last!.pointer, featuresGrad = ws.encoderGrads.last!.pointer
        prof.time(layer: "heads backward") {
            meanHead.backward(dy: ws.meanGrad.pointer, x: features, batch: batch, weight: params + meanOffset,
                              dWeight: grads + meanOffset, dBias: grads + meanOffset + meanHead.weightCount,
                              dx: featuresGrad, profiler: prof)
            // Both heads read the features: the second adds its input gradient to the first's.
            logVarianceHead.backward(dy: ws.logVarianceGrad.pointer, x: features, batch: batch,
                                     weight: params + logVarianceOffset, dWeight: grads + logVarianceOffset,
                                     dBias: grads + logVarianceOffset + logVarianceHead.weightCount, dx: featuresGrad,
                                     accumulate: true, profiler: prof)
        }
        for i in encoder.indices.reversed() {
            let l = encoder[i]
            prof.time(layer: l.name + " backward") {
                // The images need no gradient.
                let x = i == 0 ? inputChannelMajor(images, in: ws) : UnsafePointer(ws.encoderOutputs[i - 1].pointer)
                l.layer.backward(ws.encoderGrads[i].pointer, x: x, y: ws.encoderOutputs[i].pointer,
                                 saved: ws.encoderSaved[i].pointer,
                                 dx: i == 0 ? nil : ws.encoderGrads[i - 1].pointer, batch: batch,
                                 parameters: params + l.offset, gradients: grads + l.offset, scratch: scratch,
                                 profiler: prof)
            }
        }
    }
}
