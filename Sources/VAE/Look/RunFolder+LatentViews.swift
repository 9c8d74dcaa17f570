// RunFolder+LatentViews: at the end of a run, KL per latent dimension and the traversal and interpolation pictures for report.html.
import Foundation
import ImageIO

extension RunFolder {
    public static let traversalFile = "traversal.png", interpolationFile = "interpolation.png"
    /// Images encoded for the KL bars: enough for a steady mean, few enough to cost well under a second.
    public static let latentViewImages = 256

    /// Encodes up to `latentViewImages` held-out images (training images when none are held out),
    /// spread over the set, and writes traversal.png (the active dimensions, at most 16, most KL
    /// first, around zero; the top few when none is active, so collapse shows as flat rows) and
    /// interpolation.png (between two of those images). Returns the mean KL per dimension.
    public func writeLatentViews(model: Model, batches: ImageBatches) throws -> [Double] {
        let pool = batches.validationIndices.isEmpty ? batches.trainIndices : batches.validationIndices
        guard !pool.isEmpty else { return [] }
        let stride = Swift.max(1, pool.count / Self.latentViewImages)
        let chosen = Swift.stride(from: 0, to: pool.count, by: stride).prefix(Self.latentViewImages).map { pool[$0] }
        var planar = [Float](repeating: 0, count: chosen.count * model.config.imageFloats)
        planar.withUnsafeMutableBufferPointer { batches.dataset.gather(chosen, into: $0.baseAddress!) }
        let images = model.images(planar, count: chosen.count)
        let kl = model.klPerDimension(images)
        var dimensions = LatentKL.active(kl)
        if dimensions.isEmpty { dimensions = LatentKL.active(kl, threshold: -1, limit: Swift.min(4, kl.count)) }
        let scale = viewingScale(for: model.config.size)
        let grid = TraversalGrid(dimensions: dimensions, kl: kl, range: 3, steps: 9)
        let tiles = model.traversal(grid, base: [Float](repeating: 0, count: model.config.latent)).map { $0.upscaled(by: scale) }
        try grid.picture(tiles: tiles, columns: grid.steps).writePNG(to: file(Self.traversalFile))
        if images.count >= 2 {
            let strip = model.interpolation(from: images[0], to: images[images.count / 2], steps: 8, slerp: false)
            try Image.grid(strip.map { $0.upscaled(by: scale) }, columns: strip.count).writePNG(to: file(Self.interpolationFile))
        }
        return kl
    }
}
