// PriorFit: a Gaussian mixture fitted to a model's posterior means, its size and covariance chosen on held-out codes.
import Foundation
import VAECore

/// Ex-post density estimation (Ghosh et al. 2020, "From Variational to Deterministic
/// Autoencoders"): N(0, I) puts mass where few training codes are, so decoded draws from it
/// fall between the data; a mixture fitted to the codes after training does not.
public struct PriorFit: Sendable {
    public typealias Covariance = GaussianMixture.Covariance
    /// One mixture tried: its components (fewer than asked when EM dropped some that lost their
    /// points), its covariance, and the held-out mean log-density.
    public struct Candidate: Sendable {
        public var components: Int
        public var covariance: Covariance
        public var heldOut: Double?
        /// EM iterations it took (at most FitOptions.maxIterations).
        public var iterations: Int
    }

    /// The chosen mixture, rounded to Float as the file keeps it.
    public var mixture: GaussianMixture
    public var covariance: Covariance
    public var trainCodes: Int
    public var heldOutCodes: Int
    /// Mean log-density of the held-out codes in nats per image, under the mixture and under the
    /// model's own prior (N(0, I), or the one learned with it)
    /// (nil when nothing is held out).
    public var heldOutFitted: Double?
    public var heldOutStandard: Double?
    public var candidates: [Candidate]

    /// Component counts tried, smallest first; at most a quarter of the training codes each.
    public static let componentChoices = [1, 2, 4, 8, 16, 32]
    public static let maxComponents = 64
    /// The largest latent a prior is fitted for: a full covariance takes D² numbers.
    public static let maxDimension = 512
    /// Codes fitted (and scored) at most: EM with full covariances costs N·K·D² per iteration, so
    /// a large data set is subsampled by the seed to 2²⁴/D² images, within 1000–10000 (latent 16
    /// or 32: 10000, 64: 4096, 128: 1024).
    public static func codeLimit(dimension D: Int) -> Int { Swift.min(10_000, Swift.max(1000, (1 << 24) / Swift.max(D * D, 1))) }

    /// At most `codeLimit` of `indices`, drawn by the seed (`detail` tells the two sets apart), in their order.
    public static func subset(_ indices: [Int], dimension D: Int, seed: UInt64, detail: UInt64) -> [Int] {
        guard indices.count > codeLimit(dimension: D) else { return indices }
        var stream = RandomStream(seed: seed, purpose: .prior, detail: detail << 32)
        return stream.permutation(indices.count).prefix(codeLimit(dimension: D)).sorted().map { indices[$0] }
    }

    /// Fits mixtures to the `train` codes and keeps the one whose held-out mean log-density is
    /// highest: over `componentChoices` (or just `components`) and both covariances. Without
    /// held-out codes it fits `components` (default 1) full-covariance components.
    /// `progress` is told of each mixture as it is scored.
    /// `own` is the model's own prior the held-out codes are also scored under (nil: N(0, I)).
    public static func choose(train: [Double], heldOut: [Double], dimension D: Int, seed: UInt64, components: Int? = nil,
                              own: GaussianMixture? = nil, threads: Int = 1, progress: ((Candidate) -> Void)? = nil) -> PriorFit {
        let N = train.count / D, M = heldOut.count / D
        let counts = components.map { [$0] }
            ?? (M == 0 ? [1] : componentChoices.filter { $0 == 1 || 4 * $0 <= N })
        var candidates: [Candidate] = [], best: (GaussianMixture, Candidate)?
        for covariance in M == 0 ? [Covariance.full] : Covariance.allCases {
            var worseInARow = 0, bestOfKind = -Double.infinity
            for K in counts {
                let options = GaussianMixture.FitOptions(components: K, covariance: covariance, seed: seed)
                let fit = GaussianMixture.fit(train, count: N, dimension: D, options: options, threads: threads)
                let mixture = fit.mixture.roundedToFloat
                let score = M > 0 ? mixture.meanLogDensity(heldOut, count: M, threads: threads) : nil
                let candidate = Candidate(components: mixture.components, covariance: covariance, heldOut: score, iterations: fit.objectives.count - 1)
                candidates.append(candidate)
                progress?(candidate)
                if best == nil || (score ?? -.infinity) > (best!.1.heldOut ?? -.infinity) { best = (mixture, candidate) }
                // Two larger mixtures in a row worse on held-out codes: the rest would overfit more.
                if let score, score <= bestOfKind { worseInARow += 1 } else { worseInARow = 0 }
                bestOfKind = Swift.max(bestOfKind, score ?? -.infinity)
                if worseInARow >= 2 { break }
            }
        }
        let standard = own ?? GaussianMixture.standard(dimension: D)
        return PriorFit(mixture: best!.0, covariance: best!.1.covariance, trainCodes: N, heldOutCodes: M,
                        heldOutFitted: best!.1.heldOut,
                        heldOutStandard: M > 0 ? standard.meanLogDensity(heldOut, count: M, threads: threads) : nil,
                        candidates: candidates)
    }
}

extension Model {
    /// The posterior means μ(x) of the images `indices` of `dataset`, row-major (count × latent), in Double.
    public func codes(_ dataset: ImageDataset, _ indices: [Int]) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(indices.count * config.latent)
        // Images gathered at a time: at most 1,024 or 8 MB of floats (at the end of a streamed run
        // this runs beside training's memory, which the budget was planned for).
        let block = Swift.max(1, Swift.min(1024, (8 << 20) / (config.imageFloats * MemoryLayout<Float>.stride)))
        var images = [Float](repeating: 0, count: Swift.min(block, indices.count) * config.imageFloats)
        for start in stride(from: 0, to: indices.count, by: block) {
            let part = indices[start..<Swift.min(start + block, indices.count)]
            images.withUnsafeMutableBufferPointer { dataset.gather(part, into: $0.baseAddress!) }
            let count = part.count
            out += encode(count == block ? images : Array(images.prefix(count * config.imageFloats)), count: count).mean.map(Double.init)
        }
        return out
    }
}
