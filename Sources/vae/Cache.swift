// vae cache: prepares a folder's images into the image cache ahead of time, as 'vae train' would.
import ArgumentParser
import Foundation
import ImageIO
import VAE

struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prepare a folder's images into the image cache that 'vae train' and 'vae evaluate' read.",
        discussion: """
        Decodes every PNG and JPEG under DATA, prepared as 'vae train' with the same flags prepares them (--size, --channels, --fit, --background, --limit, --max-megapixels; without --size or --channels a sample of the images sets them, as train does), and writes them to a cache file in --cache (default $VAE_CACHE, else Output/cache/): <folder>-<hash>.vaecache, one per data folder and preparation. A 'vae train' or 'vae evaluate' on that folder with the same preparation then starts without decoding. Run again, it decodes only the files added or changed since and drops the removed ones. It holds about 64 MB of images in memory at a time, so a folder larger than memory can be prepared (and 'vae train' then streams it). Delete the folder (or a file in it) to free the space; the next run makes it again.
        """)

    @Argument(help: "Folder(s) of images, as you would pass them to 'vae train'.")
    var data: [String]

    @Option(help: "Side of the square images in pixels (default: the images' usual side, at most 64, as train chooses).")
    var size: Int?

    @Option(help: "1 for gray, 3 for colour (default: 1 when every sampled image is gray, else 3).")
    var channels: Int?

    @Option(help: "How non-square images become square: crop (centre, the default), pad or stretch.")
    var fit: FitMode = .crop

    @Option(help: "Colour transparent pixels and padding are laid on: white (the default), black, gray or #RRGGBB.")
    var background: String = "white"

    @Option(help: "Use at most this many images (the first in sorted order), as train's --limit.")
    var limit: Int?

    @Option(help: "Refuse images larger than this many megapixels (at most 1000), as train's flag.")
    var maxMegapixels: Double = 100

    @Option(name: .customLong("cache"), help: ArgumentHelp("Folder of image caches (default: $VAE_CACHE when set, else \(DatasetCache.defaultFolder)).", valueName: "dir"))
    var folder: String?

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if let channels, ![1, 3].contains(channels) { throw ValidationError("--channels must be 1 (gray) or 3 (colour)") }
        if let size, !(2...4096).contains(size) { throw ValidationError("--size must be between 2 and 4096") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if Background(background) == nil { throw ValidationError("--background takes white, black, gray or #RRGGBB") }
        try PixelLimit.validate(maxMegapixels)
    }

    func run() throws {
        let options = DecodeOptions(maxPixels: PixelLimit.pixels(maxMegapixels))
        var shape: DataShape?
        if size == nil || channels == nil {
            shape = DataShape.probe(data, options: options)
            if let shape { print("images: \(shape.description) from the \(shape.sampled) sampled") }
        }
        let prep = ImagePreparation(size: size ?? shape?.size ?? 64, channels: channels ?? shape?.channels ?? 3, fit: fit,
                                    background: Background(background) ?? .white)
        let progress = ProgressLine()
        let start = Date()
        let dataset: ImageDataset
        do {
            dataset = try ImageDataset(folders: data, preparation: prep, threads: threads.threads, options: options, limit: limit,
                                       cache: DatasetCache(folder: folder ?? CacheOptions.defaultFolder),
                                       // Written a chunk at a time and never held: a folder larger than memory is prepared too.
                                       admit: { _ in true }, progress: { done, total in
                let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
                progress.update(String(format: "decoding %d/%d (%.0f files/s)", done, total, rate), force: done == total)
            })
        } catch {
            progress.finish()
            throw RunFailure("\(error)")
        }
        progress.finish()
        if let note = dataset.skippedSummary() { warn(note) }
        guard let report = dataset.cacheReport else { return }
        for line in report.lines { line.hasPrefix("warning") ? warn(line) : print(line) }
        print(String(format: "%@: %d images of %d×%d×%d, %@, %.2f s", report.path, dataset.count, prep.size, prep.size, prep.channels,
                     MemoryPlan.describe(dataset.bytes.count), Date().timeIntervalSince(start)))
        if report.writeError != nil { throw ExitCode.failure }
    }
}
