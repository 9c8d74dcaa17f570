// Network+Passes: encode, decode, the loss and the backward pass over one thread's share of a batch.
import Foundation
import VAECore

extension Network {
    /// The input images channel-major, as the first convolution reads them: the images
    /// themselves when there is one channel, else the copy encode() made.
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
        for (i, layer) in encoder.enumerated() {
            let y = ws.encoderOutputs[i].pointer
            prof.time(layer: layer.name + " forward") {
                layer.op.forward(x: x, batch: batch, weight: params + layer.weight, bias: params + layer.bias,
                                 col: ws.encoderColumns[i].pointer, y: y, relu: true, profiler: prof)
            }
            x = UnsafePointer(y)
        }
        let plane = config.bottomSide * config.bottomSide
        prof.time(.elementwise) {
            channelMajorToImageMajor(x, ws.flat.pointer, channels: config.widths.last!, batch: batch, plane: plane)
        }
        var features = UnsafePointer(ws.flat.pointer)
        if let layer = encoderHidden, let hidden = ws.hidden {
            prof.time(layer: layer.name + " forward") {
                layer.op.forward(x: features, batch: batch, weight: params + layer.weight, bias: params + layer.bias,
                                 y: hidden.pointer, profiler: prof)
                prof.time(.elementwise) { reluForward(hidden.pointer, count: batch * layer.op.outFeatures) }
            }
            features = UnsafePointer(hidden.pointer)
        }
        prof.time(layer: "heads forward") {
            for (head, out) in [(meanHead, ws.mean), (logVarianceHead, ws.logVariance)] {
                head.op.forward(x: features, batch: batch, weight: params + head.weight, bias: params + head.bias,
                                y: out.pointer, profiler: prof)
            }
        }
    }

    /// ws.z (B, latent) → ws.logits (B, C, H, W): Bernoulli logits or Gaussian means.
    public func decode(batch: Int, params: UnsafePointer<Float>, in ws: Workspace) {
        let prof = ws.profiler
        var x = UnsafePointer(ws.z.pointer)
        for (i, layer) in decoderDense.enumerated() {
            let y = ws.denseOutputs[i].pointer
            prof.time(layer: layer.name + " forward") {
                layer.op.forward(x: x, batch: batch, weight: params + layer.weight, bias: params + layer.bias,
                                 y: y, profiler: prof)
                prof.time(.elementwise) { reluForward(y, count: batch * layer.op.outFeatures) }
            }
            x = UnsafePointer(y)
        }
        let plane = config.bottomSide * config.bottomSide
        prof.time(.elementwise) {
            imageMajorToChannelMajor(x, ws.decoderInput.pointer, channels: config.widths.last!, batch: batch, plane: plane)
        }
        x = UnsafePointer(ws.decoderInput.pointer)
        for (i, layer) in decoder.enumerated() {
            let y = ws.decoderOutputs[i].pointer
            prof.time(layer: layer.name + " forward") {
                layer.op.forward(x: x, batch: batch, weight: params + layer.weight, bias: params + layer.bias,
                                 col: ws.decoderColumns[i].pointer, y: y, relu: i + 1 < decoder.count, profiler: prof)
            }
            x = UnsafePointer(y)
        }
        if config.channels > 1 {
            prof.time(.elementwise) {
                channelMajorToImageMajor(x, ws.logits.pointer, channels: config.channels, batch: batch,
                                         plane: config.size * config.size)
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
    /// learned log-scale's gradient to ws.grads.
    public func evaluateLoss(_ images: UnsafePointer<Float>, batch: Int, params: UnsafePointer<Float>, in ws: Workspace,
                             beta: Float = 1, gradientScale: Float? = nil) {
        let n = config.imageFloats, L = config.latent
        let logScale = self.logScale(params)
        var dLogScale: Double = 0
        ws.profiler.time(.loss) {
            if gradientScale != nil {
                ws.meanGrad.zero()
                ws.logVarianceGrad.zero()
            }
            for b in 0..<batch {
                let logits = ws.logits.pointer + b * n, target = images + b * n
                let grad = gradientScale.map { _ in ws.logitsGrad.pointer + b * n }
                let scale = gradientScale ?? 1
                switch config.likelihood {
                case .bernoulli:
                    ws.reconstruction[b] = bernoulliNLL(logits: logits, targets: target, count: n, grad: grad, scale: scale)
                case .gaussian:
                    ws.reconstruction[b] = withUnsafeMutablePointer(to: &dLogScale) { d in
                        gaussianNLL(means: logits, targets: target, count: n, logScale: logScale, grad: grad,
                                    scale: scale, dLogScale: gradientScale == nil ? nil : d)
                    }
                }
                ws.kl[b] = klStandardNormal(
                    mean: ws.mean.pointer + b * L, logVariance: ws.logVariance.pointer + b * L, count: L,
                    dMean: gradientScale == nil ? nil : ws.meanGrad.pointer + b * L,
                    dLogVariance: gradientScale == nil ? nil : ws.logVarianceGrad.pointer + b * L,
                    scale: beta * scale)
            }
        }
        if gradientScale != nil, let offset = logScaleOffset { ws.grads[offset] += Float(dLogScale) }
    }

    /// Backpropagates the gradients evaluateLoss left, adding every parameter's gradient to ws.grads.
    public func backward(_ images: UnsafePointer<Float>, batch: Int, params: UnsafePointer<Float>, in ws: Workspace) {
        let prof = ws.profiler, grads = ws.grads.pointer, cfg = config
        if cfg.channels > 1 {
            prof.time(.elementwise) {
                imageMajorToChannelMajor(ws.logitsGrad.pointer, ws.decoderGrads.last!.pointer, channels: cfg.channels,
                                         batch: batch, plane: cfg.size * cfg.size)
            }
        }
        for i in stride(from: decoder.count - 1, through: 0, by: -1) {
            let layer = decoder[i], dy = ws.decoderGrads[i].pointer
            prof.time(layer: layer.name + " backward") {
                let x = i == 0 ? ws.decoderInput.pointer : ws.decoderOutputs[i - 1].pointer
                let dx = i == 0 ? ws.decoderInputGrad.pointer : ws.decoderGrads[i - 1].pointer
                layer.op.backward(dy: dy, x: x, batch: batch, weight: params + layer.weight,
                                  col: ws.decoderColumns[i].pointer, dWeight: grads + layer.weight,
                                  dBias: grads + layer.bias, dx: dx,
                                  reluOutput: i + 1 < decoder.count ? UnsafePointer(ws.decoderOutputs[i].pointer) : nil,
                                  profiler: prof)
            }
        }
        let plane = cfg.bottomSide * cfg.bottomSide
        prof.time(.elementwise) {
            channelMajorToImageMajor(ws.decoderInputGrad.pointer, ws.denseGrads.last!.pointer,
                                     channels: cfg.widths.last!, batch: batch, plane: plane)
        }
        for i in stride(from: decoderDense.count - 1, through: 0, by: -1) {
            let layer = decoderDense[i], dy = ws.denseGrads[i].pointer
            prof.time(layer: layer.name + " backward") {
                prof.time(.elementwise) {
                    reluBackward(dy, output: ws.denseOutputs[i].pointer, count: batch * layer.op.outFeatures)
                }
                let x = i == 0 ? ws.z.pointer : ws.denseOutputs[i - 1].pointer
                let dx = i == 0 ? ws.zGrad.pointer : ws.denseGrads[i - 1].pointer
                layer.op.backward(dy: dy, x: x, batch: batch, weight: params + layer.weight, dWeight: grads + layer.weight,
                                  dBias: grads + layer.bias, dx: dx, profiler: prof)
            }
        }
        prof.time(.elementwise) {
            reparameterizeBackward(dz: ws.zGrad.pointer, logVariance: ws.logVariance.pointer, eps: ws.eps.pointer,
                                   dMean: ws.meanGrad.pointer, dLogVariance: ws.logVarianceGrad.pointer,
                                   count: batch * cfg.latent)
        }
        let features = ws.hidden?.pointer ?? ws.flat.pointer
        let featuresGrad = ws.hiddenGrad?.pointer ?? ws.flatGrad.pointer
        prof.time(layer: "heads backward") {
            meanHead.op.backward(dy: ws.meanGrad.pointer, x: features, batch: batch, weight: params + meanHead.weight,
                                 dWeight: grads + meanHead.weight, dBias: grads + meanHead.bias, dx: featuresGrad,
                                 profiler: prof)
            logVarianceHead.op.backward(dy: ws.logVarianceGrad.pointer, x: features, batch: batch,
                                        weight: params + logVarianceHead.weight, dWeight: grads + logVarianceHead.weight,
                                        dBias: grads + logVarianceHead.bias, dx: featuresGrad, accumulate: true,
                                        profiler: prof)
        }
        if let layer = encoderHidden, let hidden = ws.hidden, let hiddenGrad = ws.hiddenGrad {
            prof.time(layer: layer.name + " backward") {
                prof.time(.elementwise) {
                    reluBackward(hiddenGrad.pointer, output: hidden.pointer, count: batch * layer.op.outFeatures)
                }
                layer.op.backward(dy: hiddenGrad.pointer, x: ws.flat.pointer, batch: batch, weight: params + layer.weight,
                                  dWeight: grads + layer.weight, dBias: grads + layer.bias, dx: ws.flatGrad.pointer,
                                  profiler: prof)
            }
        }
        prof.time(.elementwise) {
            imageMajorToChannelMajor(ws.flatGrad.pointer, ws.encoderGrads.last!.pointer, channels: cfg.widths.last!,
                                     batch: batch, plane: plane)
        }
        for i in stride(from: encoder.count - 1, through: 0, by: -1) {
            let layer = encoder[i], dy = ws.encoderGrads[i].pointer
            prof.time(layer: layer.name + " backward") {
                var dx: FloatPointer? = nil
                if i > 0 { dx = ws.encoderGrads[i - 1].pointer }
                let x = i == 0 ? inputChannelMajor(images, in: ws) : UnsafePointer(ws.encoderOutputs[i - 1].pointer)
                layer.op.backward(dy: dy, x: x, batch: batch, weight: params + layer.weight, col: ws.encoderColumns[i].pointer,
                                  dWeight: grads + layer.weight, dBias: grads + layer.bias, dx: dx,
                                  reluOutput: UnsafePointer(ws.encoderOutputs[i].pointer), profiler: prof)
            }
        }
    }
}
