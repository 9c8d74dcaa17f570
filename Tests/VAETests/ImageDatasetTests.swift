// The image-folder data set: decoding into one buffer, skipping broken files, ignoring others.
import Foundation
import Testing
import TestSupport
import ImageIO
@testable import VAE

@Suite struct ImageDatasetTests {
    @Test func loadsImagesSkipsBrokenOnesAndIgnoresOtherFiles() throws {
        let folder = temporaryFolder("vae-dataset")
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        for (i, name) in ["b.png", "sub/a.png", "c.png"].enumerated() {
            // 4×2 images: colour i/4 in the left half, white in the right.
            var image = Image(width: 4, height: 2, channels: 3, fill: 1)
            for y in 0..<2 { for x in 0..<2 { for c in 0..<3 { image[x, y, c] = Float(i) / 4 } } }
            try image.writePNG(to: folder + "/" + name)
        }
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: URL(fileURLWithPath: folder + "/broken.png"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: folder + "/notes.txt"))
        let prep = ImagePreparation(size: 2, channels: 1, fit: .stretch)
        let dataset = try ImageDataset(folders: [folder], preparation: prep, threads: 2)
        #expect(dataset.paths == [folder + "/b.png", folder + "/c.png", folder + "/sub/a.png"])
        #expect(dataset.skipped.map(\.path) == [folder + "/broken.png"])
        #expect(dataset.skippedSummary()?.contains("broken.png") == true)
        // b.png is image 0: its left column averages 0/4 over a 2-pixel-wide area, its right is white.
        let gray = dataset.image(0).pixels
        #expect(gray == [0, 1, 0, 1])
        // broken.png sorts between b.png and c.png: the images after it moved down over its place.
        #expect(dataset.image(1).pixels.map { ($0 * 255).rounded() } == [128, 255, 128, 255])
        #expect(dataset.image(2).pixels.map { ($0 * 255).rounded() } == [64, 255, 64, 255])
    }

    @Test func aFolderWithNoImagesIsAnError() {
        let folder = temporaryFolder("vae-none")
        #expect(throws: ImageDataset.LoadError.self) {
            try ImageDataset(folders: [folder], preparation: ImagePreparation(size: 4, channels: 1))
        }
    }

    @Test func validationSplitIsFixedBySeed() {
        let a = ImageBatches.split(count: 100, fraction: 0.05, seed: 1)
        #expect(a.validation.count == 5 && a.train.count == 95)
        #expect(Set(a.validation).isDisjoint(with: a.train))
        #expect(ImageBatches.split(count: 100, fraction: 0.05, seed: 1).validation == a.validation)
        #expect(ImageBatches.split(count: 100, fraction: 0.05, seed: 2).validation != a.validation)
        #expect(ImageBatches.split(count: 1, fraction: 0.05, seed: 1).validation.isEmpty)
    }
}
