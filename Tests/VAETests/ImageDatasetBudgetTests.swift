// ImageDataset with hostile folders: the shared pixel budget, and the scan's notes reaching the user.
import Foundation
import Testing
import TestSupport
import ImageIO
@testable import VAE

@Suite struct ImageDatasetBudgetTests {
    /// Ten 60×50 images (3,000 pixels each) under a 5,000-pixel limit: each is allowed, no two fit
    /// at once, so on four threads the budget must have held exactly one image's pixels at its peak.
    @Test func decodingThreadsShareThePixelLimit() throws {
        let folder = temporaryFolder("vae-dataset-budget")
        for i in 0..<10 {
            try Image(width: 60, height: 50, channels: 3, fill: Float(i) / 10).writePNG(to: folder + "/img-\(i).png")
        }
        let budget = PixelBudget(capacity: 5000)
        let dataset = try ImageDataset(folders: [folder], preparation: ImagePreparation(size: 8, channels: 1), threads: 4,
                                       options: DecodeOptions(maxPixels: 5000), budget: budget)
        #expect(dataset.count == 10)
        #expect(budget.peak == 3000)
        // Each is over half the budget, so each is named in the log with its declared size.
        #expect(dataset.notes.count == 10)
        #expect(dataset.notes.first == folder + "/img-0.png: 60×50 (0.003 megapixels), "
                + "decoded within the 0.005-megapixel budget the loading threads share")
        #expect(dataset.skippedSummary()?.contains("img-9.png: 60×50") == true)
    }

    @Test func theDefaultBudgetIsThePixelLimit() throws {
        let folder = temporaryFolder("vae-dataset-budget-default")
        for i in 0..<4 { try Image(width: 8, height: 8, channels: 3, fill: 0.5).writePNG(to: folder + "/\(i).png") }
        // 64 pixels each: with a limit of 200 none takes over half the budget and none is noted;
        // with a limit of 100 each does, and the note gives the budget: the limit.
        var dataset = try ImageDataset(folders: [folder], preparation: ImagePreparation(size: 8, channels: 3), threads: 2,
                                       options: DecodeOptions(maxPixels: 200))
        #expect(dataset.count == 4 && dataset.notes.isEmpty && dataset.skippedSummary() == nil)
        dataset = try ImageDataset(folders: [folder], preparation: ImagePreparation(size: 8, channels: 3), threads: 2,
                                   options: DecodeOptions(maxPixels: 100))
        #expect(dataset.count == 4 && dataset.notes.count == 4)
        #expect(dataset.notes.allSatisfy { $0.hasSuffix(": 8×8 (6.4e-05 megapixels), decoded within the 0.0001-megapixel budget the loading threads share") })
    }

    @Test func scanNotesReachTheDataSetAndItsErrors() throws {
        let folder = temporaryFolder("vae-dataset-notes")
        try Image(width: 4, height: 4, channels: 3, fill: 0.5).writePNG(to: folder + "/a.png")
        #expect(mkfifo(folder + "/pipe.png", 0o644) == 0)
        let dataset = try ImageDataset(folders: [folder], preparation: ImagePreparation(size: 4, channels: 3), threads: 2)
        #expect(dataset.paths == [folder + "/a.png"])
        #expect(dataset.notes == [folder + "/pipe.png: a FIFO, not a regular file: skipped"])
        #expect(dataset.skippedSummary() == folder + "/pipe.png: a FIFO, not a regular file: skipped")

        // A data folder holding only a run folder: the error says why nothing was found.
        let data = temporaryFolder("vae-dataset-only-run")
        try FileManager.default.createDirectory(atPath: data + "/run", withIntermediateDirectories: true)
        try Image(width: 4, height: 4, channels: 3, fill: 0.5).writePNG(to: data + "/run/samples.png")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: data + "/run/config.json"))
        try Data().write(to: URL(fileURLWithPath: data + "/run/model.safetensors"))
        do {
            _ = try ImageDataset(folders: [data], preparation: ImagePreparation(size: 4, channels: 3))
            Issue.record("a run folder was loaded as data")
        } catch {
            #expect("\(error)" == "\(data): no PNG or JPEG images found (\(data)/run: a vae run folder "
                    + "(config.json, model.safetensors), not data: skipped)")
        }
    }
}
