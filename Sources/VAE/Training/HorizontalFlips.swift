// HorizontalFlips: a BatchSource that mirrors each image of another source left to right with probability ½ (--flip).
import VAECore

/// Whether an image is flipped depends only on (seed, epoch, its place in the epoch's order), drawn
/// from its own Philox stream: a run resumed mid-epoch flips the same images, and the thread count
/// plays no part (the flips are made here, before the batch is cut into shards).
public final class HorizontalFlips: BatchSource {
    public let source: BatchSource
    public let seed: UInt64
    /// Images are (C, H, W) with rows of `width` floats.
    public let width: Int
    private var epoch = 0
    private var position = 0

    public init(_ source: BatchSource, seed: UInt64, width: Int) {
        precondition(width > 0 && source.imageFloats % width == 0, "the image floats are not whole rows")
        (self.source, self.seed, self.width) = (source, seed, width)
    }

    public var imageFloats: Int { source.imageFloats }
    public var imagesPerEpoch: Int { source.imagesPerEpoch }

    public func beginEpoch(_ epoch: Int, batchSize: Int, from first: Int) {
        source.beginEpoch(epoch, batchSize: batchSize, from: first)
        (self.epoch, position) = (epoch, first * batchSize)
    }

    public func nextBatch(into images: UnsafeMutablePointer<Float>) -> Int {
        let count = source.nextBatch(into: images)
        for b in 0..<count where isFlipped(epoch: epoch, image: position + b) {
            mirror(images + b * imageFloats)
        }
        position += count
        return count
    }

    /// Whether image `image` (its place in epoch `epoch`'s order) is flipped: the top bit of word
    /// `image` of the stream (seed, flip, epoch).
    public func isFlipped(epoch: Int, image: Int) -> Bool {
        RandomStream(seed: seed, purpose: .flip, detail: UInt64(epoch)).word(at: UInt64(image)) >> 31 == 1
    }

    /// Reverses every row of one image in place.
    func mirror(_ image: UnsafeMutablePointer<Float>) {
        for row in stride(from: 0, to: imageFloats, by: width) {
            var (i, j) = (row, row + width - 1)
            while i < j {
                let left = image[i]
                image[i] = image[j]
                image[j] = left
                i += 1
                j -= 1
            }
        }
    }
}
