// Horizontal flips: the flipped batches are the mirrored images, chosen by the seed, the same on resume and on any thread count.
import Foundation
import Testing
import TestSupport
import ImageIO
@testable import VAE
@testable import VAECore

@Suite struct HorizontalFlipsTests {
    static func dataset(count: Int, size: Int, channels: Int) -> ImageDataset {
        var rng = TestRandom(51)
        let floats = size * size * channels
        return ImageDataset(preparation: ImagePreparation(size: size, channels: channels), paths: (0..<count).map { "img\($0).png" },
                            bytes: (0..<(count * floats)).map { _ in UInt8(rng.next() % 256) })
    }

    /// Reads a whole epoch as one array, batch by batch.
    static func epoch(_ source: BatchSource, _ epoch: Int, batchSize: Int, from first: Int = 0) -> [Float] {
        source.beginEpoch(epoch, batchSize: batchSize, from: first)
        let buffer = Buffer(count: batchSize * source.imageFloats)
        var all: [Float] = []
        while case let n = source.nextBatch(into: buffer.pointer), n > 0 { all += buffer.array.prefix(n * source.imageFloats) }
        return all
    }

    /// Image (C, H, W) mirrored left to right, by its definition.
    static func mirrored(_ image: ArraySlice<Float>, channels: Int, size: Int) -> [Float] {
        let base = image.startIndex
        return (0..<(channels * size * size)).map { k in
            let (c, y, x) = (k / (size * size), k / size % size, k % size)
            return image[base + c * size * size + y * size + (size - 1 - x)]
        }
    }

    /// Every image of three epochs is either unchanged or exactly mirrored, as isFlipped says;
    /// about half are flipped, and the epochs flip different images.
    @Test func flippedImagesAreTheMirroredImages() {
        let data = Self.dataset(count: 12, size: 4, channels: 3)
        let plain = ImageBatches(dataset: data, validationFraction: 0, seed: 7)
        let flips = HorizontalFlips(ImageBatches(dataset: data, validationFraction: 0, seed: 7), seed: 7, width: 4)
        var flipped: [[Bool]] = []
        for e in 0..<3 {
            let original = Self.epoch(plain, e, batchSize: 5), seen = Self.epoch(flips, e, batchSize: 5)
            #expect(original.count == 12 * 48 && seen.count == original.count)
            flipped.append((0..<12).map { flips.isFlipped(epoch: e, image: $0) })
            for i in 0..<12 {
                let image = original[(i * 48)..<((i + 1) * 48)]
                let expected = flipped[e][i] ? Self.mirrored(image, channels: 3, size: 4) : Array(image)
                #expect(Array(seen[(i * 48)..<((i + 1) * 48)]) == expected, "epoch \(e) image \(i)")
            }
        }
        let count = flipped.joined().filter { $0 }.count
        #expect((8...28).contains(count), "\(count) of 36 flipped")
        #expect(flipped[0] != flipped[1] || flipped[1] != flipped[2])
        // The flips come from the seed.
        let other = HorizontalFlips(plain, seed: 8, width: 4)
        #expect((0..<3).map { e in (0..<12).map { other.isFlipped(epoch: e, image: $0) } } != flipped)
    }

    /// An epoch begun at a later batch (a resumed run) gives the same flipped images from there.
    @Test func aMidEpochStartFlipsTheSameImages() {
        let data = Self.dataset(count: 12, size: 4, channels: 1)
        let flips = HorizontalFlips(ImageBatches(dataset: data, validationFraction: 0, seed: 3), seed: 3, width: 4)
        let whole = Self.epoch(flips, 2, batchSize: 5)
        #expect(Self.epoch(flips, 2, batchSize: 5, from: 1) == Array(whole[(5 * 16)...]))
    }

    /// Training with flips gives the same weights on one thread or two, and not those of a run
    /// without them.
    @Test func theSameSeedFlipsTheSameOnOneThreadOrTwo() throws {
        var weights: [[Float]] = []
        for (threads, flip) in [(1, true), (2, true), (2, false)] {
            let batches = ImageBatches(dataset: TrainingLoopTests.dataset(count: 23), validationFraction: 0.1, seed: 4)
            let trainer = Trainer(network: Network(config: TrainingLoopTests.config), batch: 5, seed: 4, shards: 2, threads: threads)
            let source: BatchSource = flip ? HorizontalFlips(batches, seed: 4, width: 8) : batches
            #expect(try TrainingLoop(trainer: trainer, source: source, batchSize: 5, epochs: 2).run() == .finished)
            weights.append(trainer.params.array)
        }
        #expect(weights[0] == weights[1])
        #expect(weights[1] != weights[2])
    }
}
