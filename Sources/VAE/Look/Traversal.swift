// Traversal: which latent dimensions carry information (KL per dimension), and rows decoded along them.
import Foundation
import ImageIO

public enum LatentKL {
    /// KL(q(z_j|x) ‖ N(0, 1)) for each dimension j, averaged over the images:
    /// ½(μ² + σ² − 1 − log σ²), from means and log-variances [count × latent].
    public static func perDimension(mean: [Float], logVariance: [Float], latent: Int) -> [Double] {
        let count = mean.count / Swift.max(latent, 1)
        var kl = [Double](repeating: 0, count: latent)
        guard count > 0 else { return kl }
        for i in 0..<count {
            for j in 0..<latent {
                let m = Double(mean[i * latent + j]), lv = Double(logVariance[i * latent + j])
                kl[j] += 0.5 * (m * m + exp(lv) - 1 - lv)
            }
        }
        return kl.map { $0 / Double(count) }
    }

    /// KL above which a dimension counts as active: it carries information about the image.
    public static let activeThreshold = 0.01

    /// Dimensions whose KL is over `threshold` nats, most KL first, at most `limit` of them.
    public static func active(_ kl: [Double], threshold: Double = activeThreshold, limit: Int = 16) -> [Int] {
        Array(kl.indices.filter { kl[$0] > threshold }.sorted { kl[$0] > kl[$1] || (kl[$0] == kl[$1] && $0 < $1) }.prefix(limit))
    }
}

public struct TraversalGrid {
    public var dimensions: [Int]
    /// KL per dimension of the whole latent (for the labels), or nil when it is unknown.
    public var kl: [Double]?
    public var range: Float
    public var steps: Int

    public init(dimensions: [Int], kl: [Double]?, range: Float, steps: Int) {
        (self.dimensions, self.kl, self.range, self.steps) = (dimensions, kl, range, steps)
    }

    /// The offsets along a row: −range to +range in `steps` even steps (0 for a single step).
    public var offsets: [Float] {
        (0..<steps).map { steps == 1 ? 0 : -range + 2 * range * Float($0) / Float(steps - 1) }
    }

    /// The codes decoded: for each dimension in turn, `base` with that coordinate moved by each offset.
    public func codes(base: [Float]) -> [Float] {
        var z: [Float] = []
        for d in dimensions {
            for t in offsets {
                var code = base
                code[d] += t
                z += code
            }
        }
        return z
    }

    /// A row's label lines: the dimension, and its KL in nats when known.
    public func label(for d: Int) -> [String] {
        ["z\(d)"] + (kl.map { [String(format: "%.2f", $0[d]), "nats"] } ?? [])
    }

    public static let gap = 2

    /// Font scale for tiles of `side` pixels: labels about a third of a row tall.
    static func fontScale(side: Int) -> Int { Swift.max(1, side / 32) }

    /// Width of the label column for tiles of `side` pixels.
    public func labelWidth(side: Int) -> Int {
        let longest = dimensions.flatMap { label(for: $0) }.map(\.count).max() ?? 0
        return BitmapFont.width(String(repeating: "0", count: Swift.max(longest, 4)), scale: Self.fontScale(side: side)) + 2 * Self.gap
    }

    /// The picture: one row per dimension, `columns` tiles (already upscaled, in row order) after a label.
    public func picture(tiles: [Image], columns: Int) -> Image {
        precondition(!tiles.isEmpty && tiles.count == dimensions.count * columns, "tiles do not fill the rows")
        let side = tiles[0].width, c = tiles[0].channels, gap = Self.gap, fs = Self.fontScale(side: side)
        let left = labelWidth(side: side)
        let W = left + columns * (side + gap) + gap, H = dimensions.count * (side + gap) + gap
        var out = Image(width: W, height: H, channels: c, fill: 1)
        for (r, d) in dimensions.enumerated() {
            let top = gap + r * (side + gap)
            let lines = label(for: d), lineHeight = (BitmapFont.glyphHeight + 3) * fs
            let textTop = top + Swift.max(0, (side - lines.count * lineHeight) / 2)
            for (k, line) in lines.enumerated() {
                out.draw(text: line, x: gap, y: textTop + k * lineHeight, scale: fs, value: 0)
            }
            for s in 0..<columns { out.paste(tiles[r * columns + s], x: left + gap + s * (side + gap), y: top) }
        }
        return out
    }
}

extension Model {
    /// Mean KL per latent dimension over `images` (their posteriors against N(0, I)).
    public func klPerDimension(_ images: [Image]) -> [Double] {
        let codes = encode(images.flatMap(\.planar), count: images.count)
        return LatentKL.perDimension(mean: codes.mean, logVariance: codes.logVariance, latent: config.latent)
    }

    /// The decoded tiles of `grid` around `base`, row after row.
    public func traversal(_ grid: TraversalGrid, base: [Float]) -> [Image] {
        let count = grid.dimensions.count * grid.steps
        return images(decode(grid.codes(base: base), count: count), count: count)
    }
}
