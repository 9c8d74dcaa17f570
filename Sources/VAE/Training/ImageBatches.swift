// ImageBatches: the in-memory data set as a BatchSource: a seeded split, then a seeded shuffle per epoch.
import ImageIO
import VAECore

public final class ImageBatches: BatchSource {
    public let dataset: ImageDataset
    public let seed: UInt64
    /// Indices into `dataset`, sorted: the images trained on and the ones held out.
    public let trainIndices: [Int]
    public let validationIndices: [Int]
    private var order: [Int] = []
    private var position = 0
    private var batchSize = 1

    /// Holds out `validationFraction` of the images, chosen by `seed`.
    public init(dataset: ImageDataset, validationFraction: Double, seed: UInt64) {
        self.dataset = dataset
        self.seed = seed
        (trainIndices, validationIndices) = Self.split(count: dataset.count, fraction: validationFraction, seed: seed)
    }

    /// A fixed split by the seed: `fraction` of the images (at least one when there are two or more) for validation.
    public static func split(count: Int, fraction: Double, seed: UInt64) -> (train: [Int], validation: [Int]) {
        guard fraction > 0, count >= 2 else { return (Array(0..<count), []) }
        var stream = RandomStream(seed: seed, purpose: .split)
        let order = stream.permutation(count)
        let n = Swift.min(count - 1, Swift.max(1, Int((Double(count) * fraction).rounded())))
        return (order[n...].sorted(), order[..<n].sorted())
    }

    public var imageFloats: Int { dataset.imageFloats }
    public var imagesPerEpoch: Int { trainIndices.count }

    public func beginEpoch(_ epoch: Int, batchSize: Int, from first: Int) {
        var stream = RandomStream(seed: seed, purpose: .shuffle, detail: UInt64(epoch))
        order = stream.permutation(trainIndices.count).map { trainIndices[$0] }
        self.batchSize = batchSize
        position = Swift.min(order.count, first * batchSize)
    }

    public func nextBatch(into images: UnsafeMutablePointer<Float>) -> Int {
        let end = Swift.min(order.count, position + batchSize)
        dataset.gather(order[position..<end], into: images)
        defer { position = end }
        return end - position
    }

    /// The held-out images as a data set of their own (empty when nothing is held out).
    public var validationSet: ImageDataset { dataset.subset(validationIndices) }

    /// Up to `count` images spread evenly over the held-out set (or the training set when
    /// nothing is held out); sorted by path, so they span its folders. The same every epoch.
    public func shownImages(count: Int = 16) -> [Image] {
        let pool = validationIndices.isEmpty ? trainIndices : validationIndices
        let n = Swift.min(count, pool.count)
        return (0..<n).map { dataset.image(pool[$0 * pool.count / n]) }
    }
}

extension ImageDataset {
    /// A view of some of the images (copies their bytes).
    public func subset(_ indices: [Int]) -> ImageDataset {
        let per = imageFloats
        var out: [UInt8] = []
        out.reserveCapacity(indices.count * per)
        bytes.withUnsafeBufferPointer { all in for i in indices { out.append(contentsOf: all[(i * per)..<((i + 1) * per)]) } }
        return ImageDataset(preparation: preparation, paths: indices.map { paths[$0] }, bytes: out)
    }
}
