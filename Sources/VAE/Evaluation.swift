// Evaluation: negative ELBO, the importance-weighted bound (IWAE), mean KL and active units on a data set.
import Foundation
import VAECore

public struct EvaluationResult: Sendable, Codable {
    public var images: Int
    /// Dimensions per image (C·H·W), for bits per dimension.
    public var dimensions: Int
    /// Mean −ELBO with one z per image, in nats.
    public var negativeELBO: Double
    public var reconstruction: Double
    public var kl: Double
    /// Mean −log p(x) bound from k importance samples, in nats (nil when k = 0).
    public var iwae: Double?
    public var k: Int
    public var activeUnits: Int
    public var latent: Int
    /// The likelihood the figures are under; it says what bits/dim means (README, "Likelihoods and bits/dim").
    public var likelihood: LikelihoodKind = .bernoulli
    /// −ELBO and the IWAE bound in bits per dimension of the 8-bit data (`likelihood.bitsPerDimension`);
    /// nil under Bernoulli, which is no distribution over the 256 levels.
    public var negativeELBODataBitsPerDim: Double?
    public var iwaeDataBitsPerDim: Double?
    /// What the layer products computed in (fp32 or bf16).
    public var precision: Precision = .fp32
    /// true: the reconstruction term was taken at z = μ(x), not at a draw (`vae evaluate --at-mean`).
    public var atMean: Bool?
    /// The same bounds for the model with the run's fitted prior in place of N(0, I), from the same
    /// importance samples; nil without a fitted prior or with k = 0.
    public var fitted: FittedPriorBounds?

    /// nats/(D·ln 2): the likelihood's own figure per dimension, whatever it is a likelihood of.
    public func bitsPerDimension(_ nats: Double) -> Double { nats / (Double(dimensions) * log(2)) }

    /// Bits per dimension of the 8-bit data, or nil when the likelihood gives none (Bernoulli).
    public func dataBitsPerDimension(_ nats: Double) -> Double? {
        likelihood.eightBitCorrection == nil ? nil : likelihood.bitsPerDimension(nats: nats, dimensions: dimensions)
    }
}

/// Bounds on −log p(x) for p(x) = ∫ p_fitted(z) p(x|z) dz: the decoder with the Gaussian mixture
/// fitted to the training codes as its prior, the model `vae sample` draws from by default. Both
/// come from the k importance samples z ~ q(z|x): the −ELBO as their mean of
/// −log p(x|z) − log p_fitted(z) + log q(z|x) (the mixture's KL has no closed form), the IWAE
/// bound as for N(0, I). The mixture was fitted on training images only, so on test images these
/// are bounds as honest as the N(0, I) ones.
public struct FittedPriorBounds: Sendable, Codable {
    public var components: Int
    public var negativeELBO: Double
    /// Monte Carlo mean of log q(z|x) − log p_fitted(z).
    public var kl: Double
    public var iwae: Double
    public var negativeELBODataBitsPerDim: Double?
    public var iwaeDataBitsPerDim: Double?
}

extension LikelihoodKind {
    /// Nats per dimension that turn −log p(x) under this likelihood into −log P of the 8-bit levels the
    /// images came from, or nil when there is no such figure.
    /// - logistic: 0, it is a distribution over the 256 levels already.
    /// - gaussian: ln 255. The images' values are k/255, so level k owns the bin of width 1/255 around
    ///   k/255, and a density p gives it P(k) ≈ p(k/255)·(1/255) (the midpoint rule; its relative error
    ///   is O((1/255σ)²), negligible while σ ≫ 1/255): −log P(k) ≈ −log p(k/255) + ln 255. (Data scaled
    ///   as (k + u)/256, as RealNVP and Glow do, would have bins 1/256 wide and the correction ln 256.)
    /// - bernoulli: nil. Binary cross-entropy against an intensity is not the probability of any level.
    public var eightBitCorrection: Double? {
        switch self {
        case .logistic: return 0
        case .gaussian: return log(255)
        case .bernoulli: return nil
        }
    }

    /// Bits per dimension of `nats` per image of `dimensions` values: (nats + D·correction)/(D·ln 2),
    /// the 8-bit figure where there is one, else the likelihood's own (Bernoulli's cross-entropy).
    public func bitsPerDimension(nats: Double, dimensions: Int) -> Double {
        (nats + Double(dimensions) * (eightBitCorrection ?? 0)) / (Double(dimensions) * log(2))
    }
}

extension Model {
    /// Evaluates the images `count` at a time; `progress(done, total)` is called between chunks.
    /// Noise comes from the seed's evaluation stream, one element per (image, sample, latent).
    /// `atMean` takes the −ELBO's reconstruction term at z = μ(x) instead of a draw: deterministic,
    /// and no longer a bound (the IWAE samples are drawn as always).
    /// With a fitted `prior` (and k > 0) the bounds under it come from the same samples (`FittedPriorBounds`).
    public func evaluate(_ dataset: ImageDataset, k: Int, seed: UInt64 = 1, atMean: Bool = false, prior: GaussianMixture? = nil,
                         progress: ((Int, Int) -> Void)? = nil) -> EvaluationResult {
        let L = config.latent, n = config.imageFloats, N = dataset.count
        let prior = k > 0 ? prior : nil
        var recon = [Double](repeating: 0, count: N), kl = recon, iwae = recon
        var fittedELBO = [Double](repeating: 0, count: prior == nil ? 0 : N), fittedKL = fittedELBO, fittedIWAE = fittedELBO
        var means = [Float](repeating: 0, count: N * L)
        let elboNoise = RandomStream(seed: seed, purpose: .evaluation, detail: 0)
        let logTwoPi = Float(log(2 * Double.pi)), learnedPrior = network.prior != nil
        let lock = NSLock()
        var done = 0
        recon.withUnsafeMutableBufferPointer { recon in
        kl.withUnsafeMutableBufferPointer { kl in
        iwae.withUnsafeMutableBufferPointer { iwae in
        means.withUnsafeMutableBufferPointer { means in
        fittedELBO.withUnsafeMutableBufferPointer { fittedELBO in
        fittedKL.withUnsafeMutableBufferPointer { fittedKL in
        fittedIWAE.withUnsafeMutableBufferPointer { fittedIWAE in
            let (recon, kl, iwae, means) = (recon, kl, iwae, means)
            let (fittedELBO, fittedKL, fittedIWAE) = (fittedELBO, fittedKL, fittedIWAE)
            forEachChunk(N) { ws, range in
                let b = range.count
                let x = UnsafeMutablePointer<Float>.allocate(capacity: b * n)
                defer { x.deallocate() }
                dataset.gather(range, into: x)
                let p = UnsafePointer(params.pointer)
                network.encode(x, batch: b, params: p, in: ws)
                (means.baseAddress! + range.lowerBound * L).update(from: ws.mean.pointer, count: b * L)
                // The samples below leave ws.mean and ws.logVariance as encode() wrote them.
                let logVar = ws.logVariance.pointer
                if atMean { ws.eps.pointer.update(repeating: 0, count: b * L) } else {
                    elboNoise.fillNormal(ws.eps.pointer, count: b * L, start: UInt64(range.lowerBound * L))
                }
                network.sampleLatent(batch: b, in: ws)
                network.decode(batch: b, params: p, in: ws)
                network.evaluateLoss(x, batch: b, params: p, in: ws)
                for i in 0..<b {
                    recon[range.lowerBound + i] = ws.reconstruction[i]
                    kl[range.lowerBound + i] = ws.kl[i]
                }
                if k > 0 {
                    // log w = log p(x|z) + log p(z) − log q(z|x), k samples per image.
                    var logW = [Double](repeating: 0, count: b * k)
                    // The same with the fitted prior's log-density, and log q(z|x) − log p_fitted(z).
                    var fittedLogW = [Double](repeating: 0, count: prior == nil ? 0 : b * k), fittedGap = fittedLogW
                    var zs = [Double](repeating: 0, count: prior == nil ? 0 : b * L)
                    for s in 0..<k {
                        let noise = RandomStream(seed: seed, purpose: .evaluation, detail: UInt64(s + 1))
                        noise.fillNormal(ws.eps.pointer, count: b * L, start: UInt64(range.lowerBound * L))
                        network.sampleLatent(batch: b, in: ws)
                        network.decode(batch: b, params: p, in: ws)
                        network.evaluateLoss(x, batch: b, params: p, in: ws)
                        var logQ = [Double](repeating: 0, count: b)
                        for i in 0..<b {
                            var logPz: Float = 0, logQz: Float = 0
                            for j in 0..<L {
                                let z = ws.z[i * L + j], e = ws.eps[i * L + j]
                                if !learnedPrior { logPz -= 0.5 * (z * z + logTwoPi) }
                                logQz -= 0.5 * (e * e + logVar[i * L + j] + logTwoPi)
                            }
                            // A learned prior: evaluateLoss's KL is already log q(z|x) − log p(z) at this z.
                            logW[i * k + s] = learnedPrior ? -ws.reconstruction[i] - ws.kl[i]
                                : -ws.reconstruction[i] + Double(logPz) - Double(logQz)
                            logQ[i] = Double(logQz)
                        }
                        if let prior {
                            for i in 0..<(b * L) { zs[i] = Double(ws.z[i]) }
                            let logP = prior.logDensities(zs, count: b)
                            for i in 0..<b {
                                fittedLogW[i * k + s] = -ws.reconstruction[i] + logP[i] - logQ[i]
                                fittedGap[i * k + s] = logQ[i] - logP[i]
                            }
                        }
                    }
                    let logK = log(Double(k))
                    for i in 0..<b {
                        iwae[range.lowerBound + i] = logK - GaussianMixture.logSumExp(logW[(i * k)..<((i + 1) * k)])
                        guard prior != nil else { continue }
                        let w = fittedLogW[(i * k)..<((i + 1) * k)]
                        fittedIWAE[range.lowerBound + i] = logK - GaussianMixture.logSumExp(w)
                        fittedELBO[range.lowerBound + i] = -w.reduce(0, +) / Double(k)
                        fittedKL[range.lowerBound + i] = fittedGap[(i * k)..<((i + 1) * k)].reduce(0, +) / Double(k)
                    }
                }
                lock.lock()
                done += b
                let now = done
                lock.unlock()
                progress?(now, N)
            }
        }}}}}}}
        // Active units: latent dimensions whose posterior mean varies over the data (Burda et al.).
        var active = 0
        for j in 0..<L {
            var s = 0.0, s2 = 0.0
            for i in 0..<N { let v = Double(means[i * L + j]); s += v; s2 += v * v }
            let variance = s2 / Double(N) - (s / Double(N)) * (s / Double(N))
            if variance > 0.01 { active += 1 }
        }
        let meanRecon = recon.reduce(0, +) / Double(N), meanKL = kl.reduce(0, +) / Double(N)
        var result = EvaluationResult(images: N, dimensions: n, negativeELBO: meanRecon + meanKL, reconstruction: meanRecon,
                                      kl: meanKL, iwae: k > 0 ? iwae.reduce(0, +) / Double(N) : nil, k: k,
                                      activeUnits: active, latent: L, likelihood: config.likelihood)
        result.negativeELBODataBitsPerDim = result.dataBitsPerDimension(result.negativeELBO)
        result.iwaeDataBitsPerDim = result.iwae.flatMap(result.dataBitsPerDimension)
        result.precision = precision
        result.atMean = atMean ? true : nil
        if let prior {
            let mean = { (v: [Double]) in v.reduce(0, +) / Double(N) }
            let (elbo, bound) = (mean(fittedELBO), mean(fittedIWAE))
            result.fitted = FittedPriorBounds(components: prior.components, negativeELBO: elbo, kl: mean(fittedKL), iwae: bound,
                                              negativeELBODataBitsPerDim: result.dataBitsPerDimension(elbo),
                                              iwaeDataBitsPerDim: result.dataBitsPerDimension(bound))
        }
        return result
    }
}
