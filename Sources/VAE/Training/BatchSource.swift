// BatchSource: where the training loop pulls its batches from, one epoch at a time.

/// A source of training batches. The loop asks for the batches of an epoch in order, starting
/// at batch 0, or at a later one when a run resumes mid-epoch; the source decides the order of
/// the images (a seeded shuffle), so the same epoch always gives the same batches. An in-memory
/// data set is one source (ImageBatches); a source that streams files would be another.
public protocol BatchSource: AnyObject {
    /// Floats in one image, (C, H, W).
    var imageFloats: Int { get }
    /// Images in one epoch.
    var imagesPerEpoch: Int { get }
    /// Prepares epoch `epoch` (0-based) cut into batches of `batchSize`, so that the next
    /// `nextBatch` gives batch `first` of it.
    func beginEpoch(_ epoch: Int, batchSize: Int, from first: Int)
    /// Writes the next batch's images, (B, C, H, W) floats in [0, 1], to `images` (room for a
    /// whole batch) and returns B: the batch size, less for the epoch's last batch, 0 after it.
    func nextBatch(into images: UnsafeMutablePointer<Float>) -> Int
}

extension BatchSource {
    /// Batches in an epoch, the last one possibly short.
    public func batchesPerEpoch(batchSize: Int) -> Int { (imagesPerEpoch + batchSize - 1) / batchSize }
}
