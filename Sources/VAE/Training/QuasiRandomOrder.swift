// QuasiRandomOrder: FFCV's quasi-random order for streamed training: the cache's blocks in a seeded order, images shuffled within a window of blocks.
import VAECore

/// The order a streamed run visits its images in. The cache holds images as records in blocks of
/// `blockImages`; each epoch the blocks are put in a random order and taken `window` at a time,
/// and the images of those blocks are shuffled together. So at any moment the images come from
/// at most `window` blocks (what must be resident), yet every image is visited once per epoch
/// and batches mix many blocks. It is a function of (seed, epoch, the two numbers): saved in
/// config.json, they make a resumed run take exactly the same batches.
public struct QuasiRandomOrder: Codable, Sendable, Equatable {
    /// Images per block: the cache file's unit of reading and checking.
    public var blockImages: Int
    /// Blocks whose images are shuffled together.
    public var window: Int

    public init(blockImages: Int, window: Int) {
        precondition(blockImages > 0 && window > 0)
        (self.blockImages, self.window) = (blockImages, window)
    }

    /// One epoch: the images in order, cut into windows.
    public struct Epoch: Sendable {
        public var order: [Int]
        /// Each window's end in `order` and the blocks its images are in.
        public var windows: [(end: Int, blocks: [Int])]
    }

    /// Epoch `epoch`'s order of `indices` (record numbers, ascending, as a split leaves them).
    public func epoch(_ epoch: Int, of indices: [Int], seed: UInt64) -> Epoch {
        // The blocks that hold any of the indices, each with its run of them.
        var blocks: [(block: Int, images: ArraySlice<Int>)] = []
        var start = 0
        while start < indices.count {
            let block = indices[start] / blockImages
            var end = start + 1
            while end < indices.count && indices[end] / blockImages == block { end += 1 }
            blocks.append((block, indices[start..<end]))
            start = end
        }
        var stream = RandomStream(seed: seed, purpose: .shuffle, detail: UInt64(epoch))
        let visit = stream.permutation(blocks.count)
        var result = Epoch(order: [], windows: [])
        result.order.reserveCapacity(indices.count)
        for first in stride(from: 0, to: visit.count, by: window) {
            let chosen = visit[first..<Swift.min(visit.count, first + window)].map { blocks[$0] }
            let pool = chosen.flatMap(\.images)
            // The same stream goes on: one seed and epoch give the whole order.
            result.order += stream.permutation(pool.count).map { pool[$0] }
            result.windows.append((result.order.count, chosen.map(\.block)))
        }
        return result
    }
}
