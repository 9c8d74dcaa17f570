// LogisticMixtureLikelihood: 8-bit pixels as a discretized mixture of logistics (PixelCNN++, NVAE): NLL, gradient, mean and sampler.
import Foundation

/// p(x | output) for 8-bit pixels: per pixel a mixture of `mixtures` components, each a logistic per
/// channel discretized to the 256 levels, as in PixelCNN++ (Salimans et al. 2017,
/// `discretized_mix_logistic_loss`) and NVAE (Vahdat & Kautz 2020, `DiscMixLogistic`).
///
/// Targets t in [0, 1] stand for the 8-bit values k = round(255·t) (the data set stores bytes and
/// hands out k/255, so this recovers k exactly). Level k is the bin centred on x = 2k/255 − 1 in
/// [−1, 1] with half-width h = 1/255; bins 0 and 255 reach out to −∞ and +∞, so the 256
/// probabilities of a channel sum to 1 and −log p is a true log-likelihood of the 8-bit data.
///
/// Output planes per image (image-major, NVAE's order): K mixture logits, then for each image
/// channel c: K means, K log-scales and, for RGB, K coefficients. Within a component the RGB
/// channels depend linearly on the earlier ones (PixelCNN++): the mean of G is μ_G + α·x_R and of B
/// μ_B + β·x_R + γ·x_G, with α, β, γ = tanh of the coefficient planes of R, G and B, and x_R, x_G the
/// pixel's own (bin-centre) values. Log-scales are clamped below at −7 (PixelCNN++): s ≥ e⁻⁷, a
/// quarter of a bin.
///
/// A bin's log-probability is computed in a form that is exact in both tails, with no cancellation:
///     log(σ(a) − σ(b)) = log σ(a) + log σ(−b) + log(1 − e^−(a−b)),   a = (x + h − m)/s, b = (x − h − m)/s,
/// each term a softplus or log1p of a number in [−½, 1]. PixelCNN++ computes σ(a) − σ(b) directly
/// and, where that difference falls below 1e-5 and rounding ruins it, falls back to the density at
/// the bin centre times the bin width; this form needs no fallback (and agrees with theirs where
/// theirs is exact: Tests/VAETests/Fixtures/make_golden_logistic.py checks both).
public struct LogisticMixtureLikelihood: Likelihood {
    /// Five components: the decoder's last layer makes 10·K planes for RGB, so its cost grows with K,
    /// and a VAE decoder conditioned on z needs fewer modes per pixel than an autoregressive one
    /// (PixelCNN++ and NVAE use 10). README, "Likelihoods and bits/dim", has the measurement.
    public static let defaultMixtures = 5
    public static let maxMixtures = 64
    /// log s is clamped below here (PixelCNN++'s −7).
    public static let minLogScale: Float = -7

    public let mixtures: Int

    public init(mixtures: Int = defaultMixtures) {
        precondition((1...Self.maxMixtures).contains(mixtures), "mixtures out of range")
        self.mixtures = mixtures
    }

    /// Parameter planes per image channel and component: mean and log-scale, and a coefficient for RGB.
    func perChannel(_ channels: Int) -> Int { channels == 3 ? 3 : 2 }

    public func outputChannels(imageChannels: Int) -> Int { mixtures * (1 + imageChannels * perChannel(imageChannels)) }

    /// Plane of component k's mean of channel c; its log-scale follows K planes later, its coefficient 2K later.
    func meanPlane(_ c: Int, _ k: Int, channels: Int) -> Int { mixtures + c * perChannel(channels) * mixtures + k }

    public func negativeLogLikelihood(output: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int,
                                      image: TensorShape, parameters: UnsafePointer<Float>,
                                      into nll: UnsafeMutablePointer<Double>, gradient: FloatPointer?,
                                      parameterGradients: FloatPointer?, scale: Float) {
        let C = image.channels, P = image.height * image.width, planes = outputChannels(imageChannels: C)
        precondition(C == 1 || C == 3, "the logistic mixture takes 1 or 3 channels")
        let scratch = FloatPointer.allocate(capacity: scratchCount(channels: C))
        defer { scratch.deallocate() }
        for b in 0..<batch {
            nll[b] = imageNLL(output + b * planes * P, targets + b * C * P, channels: C, plane: P,
                              gradient: gradient.map { $0 + b * planes * P }, scale: scale, scratch: scratch)
        }
    }

    /// Pixels are taken `block` at a time, so every inner loop runs over contiguous pixels of one plane.
    static let block = 64

    func scratchCount(channels C: Int) -> Int { Self.block * (4 * C + mixtures * (1 + 2 * C + (C == 3 ? 3 : 0)) + 5) }

    /// −log p(x | output) of one image (C, H, W) against output (planes, H, W), in nats.
    func imageNLL(_ output: UnsafePointer<Float>, _ targets: UnsafePointer<Float>, channels C: Int, plane P: Int,
                  gradient: FloatPointer?, scale: Float, scratch: FloatPointer) -> Double {
        let K = mixtures, n0 = Self.block, rgb = C == 3, minLogScale = Self.minLogScale
        // Scratch, each row n0 pixels: centres x[c], bin factors fa/fb/fi[c], the summed component
        // log-probabilities logp[k], ∂lp/∂m and ∂lp/∂log s per (c, k), tanh of the coefficients, per-pixel sums.
        let x = scratch, fa = x + C * n0, fb = fa + C * n0, fi = fb + C * n0
        let logp = fi + C * n0, dm = logp + K * n0, dls = dm + C * K * n0, tanhs = dls + C * K * n0
        let top = tanhs + (rgb ? 3 * K * n0 : 0), logitMax = top, logitLSE = top + n0, mixMax = top + 2 * n0,
            mixLSE = top + 3 * n0, means = top + 4 * n0
        var total: Double = 0
        var start = 0
        while start < P {
            let n = Swift.min(n0, P - start)
            for c in 0..<C {
                let t = targets + c * P + start, xc = x + c * n0
                let a = fa + c * n0, b = fb + c * n0, i = fi + c * n0
                for p in 0..<n {
                    let level = Swift.min(Swift.max((t[p] * 255).rounded(), 0), 255)
                    xc[p] = level * (2 / 255) - 1
                    a[p] = level == 255 ? 0 : 1         // log σ(a) enters unless the bin reaches +∞
                    b[p] = level == 0 ? 0 : 1           // log σ(−b) enters unless the bin reaches −∞
                    i[p] = level == 0 || level == 255 ? 0 : 1
                }
            }
            for k in 0..<K {
                let lp = logp + k * n0
                for p in 0..<n { lp[p] = 0 }
                if rgb {
                    for j in 0..<3 {
                        let raw = output + (meanPlane(j, k, channels: C) + 2 * K) * P + start, th = tanhs + (j * K + k) * n0
                        for p in 0..<n { th[p] = tanhOf(raw[p]) }
                    }
                }
                for c in 0..<C {
                    let mu = output + meanPlane(c, k, channels: C) * P + start, rawScale = mu + K * P
                    let xc = x + c * n0, a = fa + c * n0, b = fb + c * n0, i = fi + c * n0
                    let gm = dm + (c * K + k) * n0, gs = dls + (c * K + k) * n0
                    let x0 = x, x1 = x + n0
                    let alpha = tanhs + k * n0, beta = tanhs + (K + k) * n0, gamma = tanhs + (2 * K + k) * n0
                    switch c {
                    case 0: for p in 0..<n { means[p] = mu[p] }
                    case 1: for p in 0..<n { means[p] = mu[p] + alpha[p] * x0[p] }
                    default: for p in 0..<n { means[p] = mu[p] + beta[p] * x0[p] + gamma[p] * x1[p] }
                    }
                    for p in 0..<n {
                        let r = discretizedLogistic(x: xc[p], mean: means[p], logScale: Swift.max(rawScale[p], minLogScale),
                                                    fa: a[p], fb: b[p], fi: i[p])
                        lp[p] += r.logProbability
                        gm[p] = r.dMean
                        gs[p] = rawScale[p] >= minLogScale ? r.dLogScale : 0
                    }
                }
            }
            // log Σ_k π_k p_k = LSE_k(logit_k + logp_k) − LSE_k(logit_k).
            let logits = output + start
            for p in 0..<n { logitMax[p] = logits[p]; mixMax[p] = logits[p] + logp[p] }
            for k in 1..<K {
                let l = logits + k * P, lp = logp + k * n0
                for p in 0..<n { logitMax[p] = Swift.max(logitMax[p], l[p]); mixMax[p] = Swift.max(mixMax[p], l[p] + lp[p]) }
            }
            for p in 0..<n { logitLSE[p] = 0; mixLSE[p] = 0 }
            for k in 0..<K {
                let l = logits + k * P, lp = logp + k * n0
                for p in 0..<n {
                    logitLSE[p] += expOfNonPositive(l[p] - logitMax[p])
                    mixLSE[p] += expOfNonPositive(l[p] + lp[p] - mixMax[p])
                }
            }
            var blockTotal: Double = 0
            for p in 0..<n {
                logitLSE[p] = logitMax[p] + logf(logitLSE[p])
                mixLSE[p] = mixMax[p] + logf(mixLSE[p])
                blockTotal += Double(logitLSE[p] - mixLSE[p])
            }
            total += blockTotal
            if let gradient {
                for k in 0..<K {
                    let l = logits + k * P, lp = logp + k * n0, g = gradient + k * P + start
                    // Per pixel: π_k − r_k, with r_k the component's posterior responsibility; lp becomes −r_k.
                    for p in 0..<n {
                        let responsibility = expOfNonPositive(Swift.min(l[p] + lp[p] - mixLSE[p], 0))
                        g[p] = scale * (expOfNonPositive(Swift.min(l[p] - logitLSE[p], 0)) - responsibility)
                        lp[p] = -scale * responsibility
                    }
                    for c in 0..<C {
                        let plane = meanPlane(c, k, channels: C)
                        let gMean = gradient + plane * P + start, gScale = gMean + K * P
                        let gm = dm + (c * K + k) * n0, gs = dls + (c * K + k) * n0
                        for p in 0..<n {
                            gMean[p] = lp[p] * gm[p]
                            gScale[p] = lp[p] * gs[p]
                        }
                    }
                    if rgb {
                        // ∂m_G/∂α = x_R; ∂m_B/∂β = x_R; ∂m_B/∂γ = x_G; through tanh.
                        let gAlpha = gradient + (meanPlane(0, k, channels: C) + 2 * K) * P + start
                        let gBeta = gradient + (meanPlane(1, k, channels: C) + 2 * K) * P + start
                        let gGamma = gradient + (meanPlane(2, k, channels: C) + 2 * K) * P + start
                        let alpha = tanhs + k * n0, beta = tanhs + (K + k) * n0, gamma = tanhs + (2 * K + k) * n0
                        let gmG = dm + (K + k) * n0, gmB = dm + (2 * K + k) * n0   // ∂lp/∂m of G and B
                        let x0 = x, x1 = x + n0
                        for p in 0..<n {
                            gAlpha[p] = lp[p] * gmG[p] * x0[p] * (1 - alpha[p] * alpha[p])
                            gBeta[p] = lp[p] * gmB[p] * x0[p] * (1 - beta[p] * beta[p])
                            gGamma[p] = lp[p] * gmB[p] * x1[p] * (1 - gamma[p] * gamma[p])
                        }
                    }
                }
            }
            start += n
        }
        return total
    }

    /// E[x | output] in [0, 1]: Σ_k π_k E_k[x]. A component's expectation of a channel is that of
    /// the logistic clamped to [−1, 1] (the edge bins take the tails),
    ///     −1 + s·(softplus((m+1)/s) − softplus((m−1)/s)) = clamp(m, −1, 1) + s·(L((m+1)/s) − L((m−1)/s)),
    /// L(t) = log(1 + e^−|t|), which differs from the discretized mean by under half a level; G and B
    /// use the component's expectations of R and G in place of the pixel's values. Pixels go `block`
    /// at a time through vectorisable loops, as in the NLL.
    public func mean(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
                     into images: FloatPointer) {
        let C = image.channels, P = image.height * image.width, K = mixtures, planes = outputChannels(imageChannels: C)
        let n0 = Self.block, minLogScale = Self.minLogScale
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * n0) { rows in
            // Rows: the largest logit, Σ weights, this component's weight, its expectations e[c], the sums Σ w·e[c].
            let top = rows.baseAddress!, weightSum = top + n0, weight = top + 2 * n0, e = top + 3 * n0, sums = top + 6 * n0
            for b in 0..<batch {
                let o = output + b * planes * P, out = images + b * C * P
                var start = 0
                while start < P {
                    let n = Swift.min(n0, P - start)
                    for p in 0..<n { top[p] = o[start + p]; weightSum[p] = 0 }
                    for k in 1..<K { let l = o + k * P + start; for p in 0..<n { top[p] = Swift.max(top[p], l[p]) } }
                    for i in 0..<(C * n0) { sums[i] = 0 }
                    for k in 0..<K {
                        let l = o + k * P + start
                        for p in 0..<n { weight[p] = expOfNonPositive(Swift.min(l[p] - top[p], 0)); weightSum[p] += weight[p] }
                        for c in 0..<C {
                            let plane = meanPlane(c, k, channels: C)
                            let mu = o + plane * P + start, rawScale = o + (plane + K) * P + start
                            let coefficient = { (j: Int) in o + (self.meanPlane(j, k, channels: C) + 2 * K) * P + start }
                            let ec = e + c * n0, sc = sums + c * n0, e0 = e, e1 = e + n0
                            switch c {
                            case 0: for p in 0..<n { ec[p] = mu[p] }
                            case 1:
                                let alpha = coefficient(0)
                                for p in 0..<n { ec[p] = mu[p] + tanhOf(alpha[p]) * e0[p] }
                            default:
                                let beta = coefficient(1), gamma = coefficient(2)
                                for p in 0..<n { ec[p] = mu[p] + tanhOf(beta[p]) * e0[p] + tanhOf(gamma[p]) * e1[p] }
                            }
                            for p in 0..<n {
                                let m = ec[p], ls = Swift.max(rawScale[p], minLogScale)
                                let w = expOfNonPositive(-ls), s = 1 / w
                                let lu = log1pOfUnit(expOfNonPositive(-Swift.abs((m + 1) * w)))
                                let lv = log1pOfUnit(expOfNonPositive(-Swift.abs((m - 1) * w)))
                                ec[p] = Swift.min(Swift.max(m, -1), 1) + s * (lu - lv)
                                sc[p] += weight[p] * ec[p]
                            }
                        }
                    }
                    for c in 0..<C {
                        let sc = sums + c * n0, target = out + c * P + start
                        for p in 0..<n {
                            let value = (sc[p] / weightSum[p] + 1) / 2
                            target[p] = value.isNaN ? 0.5 : Swift.min(Swift.max(value, 0), 1)
                        }
                    }
                    start += n
                }
            }
        }
    }

    /// A draw from the mixture, in levels k/255: a component by its weights, then channel by channel a
    /// logistic draw (G and B shifted by the levels already drawn for R and G) rounded to its bin.
    /// Pixel i of the batch (image-major) reads words start + i·(C+1) … start + i·(C+1) + C.
    public func sample(output: UnsafePointer<Float>, batch: Int, image: TensorShape, parameters: UnsafePointer<Float>,
                       random: RandomStream, start: UInt64, into images: FloatPointer) {
        let C = image.channels, P = image.height * image.width, K = mixtures, planes = outputChannels(imageChannels: C)
        func uniform(_ index: UInt64) -> Float { (Float(random.word(at: index) >> 8) + 0.5) * 0x1p-24 }   // (0, 1)
        for b in 0..<batch {
            let o = output + b * planes * P, out = images + b * C * P
            for p in 0..<P {
                let word = start + UInt64((b * P + p) * (C + 1))
                var top = -Float.infinity
                for k in 0..<K { top = Swift.max(top, o[k * P + p]) }
                var weightSum: Float = 0
                for k in 0..<K { weightSum += expf(o[k * P + p] - top) }
                let pick = uniform(word) * weightSum
                var k = K - 1, cumulative: Float = 0
                for j in 0..<K {
                    cumulative += expf(o[j * P + p] - top)
                    if pick < cumulative { k = j; break }
                }
                var drawn = SIMD4<Float>()   // bin centres in [−1, 1]
                for c in 0..<C {
                    let plane = meanPlane(c, k, channels: C)
                    var m = o[plane * P + p]
                    if C == 3 && c > 0 {
                        let coefficient = { (j: Int) in tanhf(o[(self.meanPlane(j, k, channels: C) + 2 * K) * P + p]) }
                        m += c == 1 ? coefficient(0) * drawn[0] : coefficient(1) * drawn[0] + coefficient(2) * drawn[1]
                    }
                    let u = uniform(word + UInt64(c + 1))
                    let value = m + expf(Swift.max(o[(plane + K) * P + p], Self.minLogScale)) * (logf(u) - logf(1 - u))
                    let position = (value + 1) * 127.5
                    let level = position.isNaN ? 128 : Swift.min(Swift.max(position.rounded(), 0), 255)
                    drawn[c] = level * (2 / 255) - 1
                    out[c * P + p] = level / 255
                }
            }
        }
    }
}

/// tanh from one vectorisable exponential: sign(z)·(1 − e^−2|z|)/(1 + e^−2|z|).
@inline(__always)
private func tanhOf(_ z: Float) -> Float {
    let u = expOfNonPositive(-2 * Swift.abs(z)), t = (1 - u) / (1 + u)
    return z < 0 ? -t : t
}

/// One channel's bin under one logistic: log P(bin) and its derivatives with respect to the mean and
/// log-scale. `fa`, `fb`, `fi` (0 or 1) say which terms of log σ(a) + log σ(−b) + log(1 − e^−(a−b))
/// the bin has: all three inside, log σ(a) alone for level 0 (its bin reaches −∞), log σ(−b) alone
/// for level 255. Every transcendental is an exponential of a non-positive number or log1p of one in
/// [−½, 1], so the caller's pixel loop vectorises.
@inline(__always)
func discretizedLogistic(x: Float, mean m: Float, logScale ls: Float, fa: Float, fb: Float, fi: Float)
    -> (logProbability: Float, dMean: Float, dLogScale: Float) {
    let h: Float = 1 / 255
    let w = expOfNonPositive(-ls)        // 1/s; −ls ≤ 7 here, within the exponential's range
    let centred = x - m
    let a = (centred + h) * w, b = (centred - h) * w, d = 2 * h * w
    let ua = expOfNonPositive(-Swift.abs(a)), ub = expOfNonPositive(-Swift.abs(b))
    let logSigmoidA = Swift.min(a, 0) - log1pOfUnit(ua)
    let logSigmoidMinusB = Swift.min(-b, 0) - log1pOfUnit(ub)
    let sigmoidMinusA = a >= 0 ? ua / (1 + ua) : 1 / (1 + ua)
    let sigmoidB = b >= 0 ? 1 / (1 + ub) : ub / (1 + ub)
    // log(1 − e^−d) and d/(e^d − 1): below ln 2 by series around 0 (log d is log(2/255) − log s
    // exactly, so a vanishing d is no trouble); above it from v = e^−d ≤ ½.
    let small = d < 0.693_147_2
    let y = 0.5 * d, y2 = y * y, d2 = d * d
    let logDSmall = (-4.848_116_4 - ls) - y + y2 * (1.0 / 6 + y2 * (-1.0 / 180 + y2 * (1.0 / 2835 - y2 / 37800)))
    let ratioSmall = 1 - y + d2 * (1.0 / 12 + d2 * (-1.0 / 720 + d2 / 30240))
    let v = expOfNonPositive(-d)
    let logDLarge = log1pOfUnit(-v), ratioLarge = d * v / (1 - v)
    let log1mexp = small ? logDSmall : logDLarge, ratio = small ? ratioSmall : ratioLarge
    let dA = fa * sigmoidMinusA, dB = -fb * sigmoidB
    return (fa * logSigmoidA + fb * logSigmoidMinusB + fi * log1mexp, -w * (dA + dB), -a * dA - b * dB - fi * ratio)
}
