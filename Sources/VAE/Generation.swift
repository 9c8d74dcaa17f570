// Generation: sample grids, reconstruction sheets and interpolation strips, as Images.
import Foundation
import ImageIO
import VAECore

extension Model {
    /// `count` images decoded from draws of `prior` (GaussianMixture.sample), or, without one, from
    /// the model's own prior: its learned mixture, or z ~ N(0, temperature²·I); all from the seed's
    /// sampling stream.
    public func samples(count: Int, seed: UInt64, temperature: Float = 1, prior: GaussianMixture? = nil) -> [Image] {
        var z = [Float](repeating: 0, count: count * config.latent)
        if let prior = prior ?? learnedPrior {
            z = prior.sample(count: count, seed: seed, temperature: Double(temperature))
        } else {
            z.withUnsafeMutableBufferPointer {
                RandomStream(seed: seed, purpose: .sampling).fillNormal($0.baseAddress!, count: $0.count)
            }
            for i in z.indices { z[i] *= temperature }
        }
        return images(decode(z, count: count), count: count)
    }

    /// Inputs (as the model sees them) in the top rows, their reconstructions in the rows below,
    /// `columns` to a row.
    public func reconstructionSheet(_ inputs: [Image], columns: Int, scale: Int) -> Image {
        let planar = inputs.flatMap(\.planar)
        let outputs = images(reconstruct(planar, count: inputs.count), count: inputs.count)
        var tiles: [Image] = []
        // Pairs of rows: a row of inputs, then the same row reconstructed.
        for start in stride(from: 0, to: inputs.count, by: columns) {
            let end = Swift.min(start + columns, inputs.count)
            let pad = columns - (end - start)
            let blank = Image(width: config.size, height: config.size, channels: config.channels, fill: 1)
            tiles += inputs[start..<end] + Array(repeating: blank, count: inputs.count > columns ? pad : 0)
            tiles += outputs[start..<end] + Array(repeating: blank, count: inputs.count > columns ? pad : 0)
        }
        return Image.grid(tiles.map { $0.upscaled(by: scale) }, columns: Swift.min(columns, inputs.count), gap: 2)
    }

    /// A: the decoded path between the means of A and B: B. Linear, or spherical with `slerp`.
    public func interpolation(from a: Image, to b: Image, steps: Int, slerp: Bool) -> [Image] {
        let codes = encode(a.planar + b.planar, count: 2).mean
        let L = config.latent
        let za = Array(codes[0..<L]), zb = Array(codes[L..<(2 * L)])
        var path: [Float] = []
        for s in 0..<steps {
            let t = steps == 1 ? 0.5 : Float(s) / Float(steps - 1)
            path += slerp ? Self.slerp(za, zb, t) : zip(za, zb).map { (1 - t) * $0 + t * $1 }
        }
        return [a] + images(decode(path, count: steps), count: steps) + [b]
    }

    /// Spherical interpolation (Shoemake), falling back to linear for nearly parallel vectors.
    static func slerp(_ a: [Float], _ b: [Float], _ t: Float) -> [Float] {
        let na = a.reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let cosine = na > 0 && nb > 0 ? zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (na * nb) : 1
        let omega = acos(Swift.min(Swift.max(cosine, -1), 1))
        if abs(sin(omega)) < 1e-4 { return zip(a, b).map { (1 - t) * $0 + t * $1 } }
        let wa = sin((1 - t) * omega) / sin(omega), wb = sin(t * omega) / sin(omega)
        return zip(a, b).map { wa * $0 + wb * $1 }
    }
}

/// The integer upscaling that makes a side of `size` pixels comfortable to look at (28 → 3×, 64 → 2×).
public func viewingScale(for size: Int) -> Int { Swift.max(1, Swift.min(4, (84 + size - 1) / size)) }
