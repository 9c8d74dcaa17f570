// ImageBatches: the data set as a BatchSource: a seeded split, then a seeded shuffle per epoch (or, streamed, a quasi-random order).
import ImageIO
import VAECore

public final class ImageBatches: BatchSource {
    public let dataset: ImageDataset
    public let seed: UInt64
    /// Indices into `dataset`, sorted: the images trained on and the ones held out.
    public let trainIndices: [Int]
    public let validationIndices: [Int]
    /// Set when the images are streamed from a cache file too large for memory: epochs follow
    /// this order, and each window of blocks is read ahead before its turn and dropped after it.
    public var streaming: QuasiRandomOrder?
    private var order: [Int] = []
    private var windows: [(end: Int, blocks: [Int])] = []
    /// The next window to read ahead, and the first not yet dropped.
    private var (nextAhead, firstKept) = (0, 0)
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
        if let streaming {
            dropWindows(upTo: windows.count)    // the last epoch's, when it was cut short
            let planned = streaming.epoch(epoch, of: trainIndices, seed: seed)
            (order, windows) = (planned.order, planned.windows)
        } else {
            var stream = RandomStream(seed: seed, purpose: .shuffle, detail: UInt64(epoch))
            order = stream.permutation(trainIndices.count).map { trainIndices[$0] }
        }
        self.batchSize = batchSize
        position = Swift.min(order.count, first * batchSize)
        // A resumed epoch starts in the window that holds `position`.
        firstKept = windows.firstIndex { $0.end > position } ?? windows.count
        nextAhead = firstKept
    }

    public func nextBatch(into images: UnsafeMutablePointer<Float>) -> Int {
        let end = Swift.min(order.count, position + batchSize)
        // The window this batch ends in and the one after it are read ahead: the disk works while the batch trains.
        if streaming != nil, let current = windows.firstIndex(where: { $0.end >= end }) { readAhead(through: current + 1) }
        dataset.gather(order[position..<end], into: images)
        defer { position = end }
        if streaming != nil { dropWindows(upTo: windows.firstIndex { $0.end > end } ?? windows.count) }
        return end - position
    }

    /// Asks the kernel to read windows up to `last` (inclusive) not yet asked for.
    private func readAhead(through last: Int) {
        while nextAhead <= Swift.min(last, windows.count - 1) {
            for b in windows[nextAhead].blocks { dataset.bytes.willNeed(blockBytes(b)) }
            nextAhead += 1
        }
    }

    /// Drops the pages of windows before `window` (all of their images have been taken).
    private func dropWindows(upTo window: Int) {
        while firstKept < window {
            for b in windows[firstKept].blocks { dataset.bytes.release(blockBytes(b)) }
            firstKept += 1
        }
    }

    private func blockBytes(_ b: Int) -> Range<Int> {
        let per = dataset.imageFloats, n = streaming!.blockImages
        return (b * n * per)..<(Swift.min(dataset.count, (b + 1) * n) * per)
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
    /// A view of some of the images (copies their bytes; streamed, the pages read are dropped as it goes).
    public func subset(_ indices: [Int]) -> ImageDataset {
        let per = imageFloats
        var out: [UInt8] = []
        out.reserveCapacity(indices.count * per)
        bytes.withUnsafeBufferPointer { all in visit(indices) { _, i in out.append(contentsOf: all[(i * per)..<((i + 1) * per)]) } }
        return ImageDataset(preparation: preparation, paths: indices.map { paths[$0] }, bytes: out)
    }
}
