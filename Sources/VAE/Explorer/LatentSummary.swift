// LatentSummary: what the explorer page shows beside the decoder: each latent unit's KL and activity, and a strip of encoded data images.
import Foundation
import VAECore

public struct LatentSummary: Codable, Sendable {
    /// Mean KL(q(z_j|x) ‖ N(0, 1)) per latent unit over the sampled images, in nats.
    public var kl: [Double]
    /// Whether the unit is active: the variance of its posterior mean over the images above 0.01
    /// (Burda et al. 2016, as `vae evaluate` counts active units).
    public var active: [Bool]
    /// Images the KL was measured on.
    public var measured: Int
    /// Data images as bytes (C, H, W), each with its posterior mean.
    public var thumbnails: [[UInt8]]
    public var codes: [[Float]]
    public var names: [String]

    public static let maxMeasured = 1000, defaultThumbnails = 32

    /// Encodes up to `maxMeasured` of `indices` (spread evenly) for the KL, and the first
    /// `thumbnails` of them, spread likewise, for the strip.
    public init(model: Model, dataset: ImageDataset, indices: [Int], thumbnails: Int = defaultThumbnails) {
        let L = model.config.latent, n = model.config.imageFloats
        func spread(_ count: Int) -> [Int] {
            guard indices.count > count else { return indices }
            return (0..<count).map { indices[$0 * indices.count / count] }
        }
        let measuredIndices = spread(Self.maxMeasured)
        var images = [Float](repeating: 0, count: measuredIndices.count * n)
        images.withUnsafeMutableBufferPointer { dataset.gather(measuredIndices, into: $0.baseAddress!) }
        let (mean, logVariance) = model.encode(images, count: measuredIndices.count)
        let N = measuredIndices.count
        var kl = [Double](repeating: 0, count: L), sum = kl, square = kl
        for b in 0..<N {
            for j in 0..<L {
                let m = Double(mean[b * L + j]), lv = Double(logVariance[b * L + j])
                kl[j] += 0.5 * (m * m + exp(lv) - 1 - lv)
                sum[j] += m
                square[j] += m * m
            }
        }
        let count = Double(Swift.max(N, 1))
        self.kl = kl.map { $0 / count }
        active = (0..<L).map { j in square[j] / count - (sum[j] / count) * (sum[j] / count) > 0.01 }
        measured = N
        let strip = spread(thumbnails)
        var bytes: [[UInt8]] = [], codes: [[Float]] = [], names: [String] = []
        for i in strip {
            let row = measuredIndices.firstIndex(of: i)
            bytes.append(Array(dataset.bytes[(i * n)..<((i + 1) * n)]))
            if let row {
                codes.append(Array(mean[(row * L)..<((row + 1) * L)]))
            } else {
                var one = [Float](repeating: 0, count: n)
                one.withUnsafeMutableBufferPointer { dataset.gather([i], into: $0.baseAddress!) }
                codes.append(model.encode(one, count: 1).mean)
            }
            names.append(URL(fileURLWithPath: dataset.paths[i]).lastPathComponent)
        }
        (self.thumbnails, self.codes, self.names) = (bytes, codes, names)
    }

    /// Latent units in the order the page lists them: active ones first, each group by KL, largest first.
    public var order: [Int] {
        kl.indices.sorted { a, b in active[a] != active[b] ? active[a] : kl[a] != kl[b] ? kl[a] > kl[b] : a < b }
    }
}
