// CommonOptions: flags shared by several subcommands, and small helpers for them.
import ArgumentParser
import Foundation
import ImageIO
import VAE
import VAECore

struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads to use (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// More threads than this only add memory (a workspace each) and contention.
    static var maxThreads: Int { 4 * ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        guard (1...Self.maxThreads).contains(threads) else {
            throw ValidationError("--threads must be between 1 and \(Self.maxThreads) (4 × the \(ProcessInfo.processInfo.activeProcessorCount) cores here)")
        }
    }
}

struct PrecisionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("What the layer products compute in: fp32, bf16 (bf16 inputs, fp32 sums) or auto (bf16 where the CPU has native bf16 products, AVX512_BF16 or AMX; the default).",
                               discussion: "Weights, reductions, the loss and the KL stay fp32 either way. bf16 is refused on a CPU without native bf16 products; auto falls back to fp32 there."))
    var precision: Precision = .auto

    /// The precision to run in, printed with the reason ("precision bf16 (auto: this CPU has AVX512_BF16)"):
    /// on stdout, or on stderr where stdout is for a machine (evaluate --json).
    func chosen(onStandardError: Bool = false) throws -> Precision {
        do {
            let choice = try PrecisionChoice.resolve(precision)
            let line = "precision \(choice.reason)"
            if onStandardError { warn(line) } else { print(line) }
            return choice.precision
        } catch {
            throw RunFailure("\(error)")
        }
    }
}

extension Precision: ExpressibleByArgument {}

/// --bucket-mb: under mpirun, the least size of the buckets the gradient is summed in (vae train, vae bench --allreduce).
struct BucketOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Under mpirun: sum the gradient across ranks in buckets of at least this many MiB (default 1), each started as soon as the backward pass has finished its layers, while the pass goes on.",
                               discussion: "As PyTorch DDP's bucket_cap_mb: small buckets start early, large ones cost fewer messages; a size above the gradient's sums it all after the backward pass. The buckets never change the results (docs/SCALING.md).",
                               valueName: "MiB"))
    var bucketMb: Double?

    func validate() throws {
        if let bucketMb, !(bucketMb > 0 && bucketMb <= 4096) { throw ValidationError("--bucket-mb must be above 0 and at most 4096") }
    }

    /// The least bucket size in floats (4 bytes each).
    var floats: Int { bucketMb.map { Swift.max(1, Int($0 * 1_048_576 / 4)) } ?? Trainer.defaultBucketFloats }
}

struct CacheOptions: ParsableArguments {
    @Option(name: .customLong("cache"), help: ArgumentHelp(
        "Folder of image caches (default: $VAE_CACHE when set, else \(DatasetCache.defaultFolder)).",
        discussion: "The prepared images of a data folder (exactly what the model sees) are kept there, one file per folder and preparation, so the next run on it starts without decoding; files added, changed or removed since are noticed and only they are decoded again. Delete the folder to free the space.",
        valueName: "dir"))
    var folder: String?

    @Flag(help: "Decode every image without the cache: nothing read from it or written to it.")
    var noCache = false

    func validate() throws {
        if noCache && folder != nil { throw ValidationError("--no-cache and --cache contradict each other: give one") }
    }

    /// The cache to load through, nil with --no-cache.
    var chosen: DatasetCache? { noCache ? nil : DatasetCache(folder: folder ?? Self.defaultFolder) }

    /// $VAE_CACHE, else Output/cache (beside the runs, relative to the working directory as they are).
    static var defaultFolder: String {
        ProcessInfo.processInfo.environment["VAE_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? DatasetCache.defaultFolder
    }
}

struct PictureOptions: ParsableArguments {
    @Option(help: "Upscale each image by this whole factor so small images can be seen (default: 3× for 28 px, 2× for 64 px).")
    var scale: Int?

    func factor(for size: Int) -> Int { scale ?? viewingScale(for: size) }

    func validate() throws {
        if let scale, !(1...16).contains(scale) { throw ValidationError("--scale must be between 1 and 16") }
    }
}

/// Creates the folder that holds `path`, if missing.
func ensureParentFolder(of path: String) throws {
    let parent = Folders.parent(of: path)
    if !parent.isEmpty { try Folders.create(parent) }
}

/// A failure found while running (not a bad combination of flags): printed as "Error: …" with
/// exit status 1, without the usage text ArgumentParser adds to a ValidationError.
struct RunFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes each image, upscaled, as its own PNG in `folder` (created if missing), named
/// `prefix` and an index padded to `digits`. Files that exist and are not PNGs are never
/// replaced: every name is checked before any is written.
func writeEach(_ images: [Image], to folder: String, prefix: String, digits: Int, scale: Int, inputs: [String] = []) throws {
    let name = { (i: Int) in folder + "/\(prefix)-" + String(format: "%0\(digits)d", i) + ".png" }
    for i in images.indices { try checkPictureTarget(name(i), inputs: inputs) }
    try Folders.create(folder)
    for (i, image) in images.enumerated() { try image.upscaled(by: scale).writePNG(to: name(i)) }
}

/// Prints to standard error.
func warn(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Loads a run folder to compute in `precision`, turning failures into a clean error message.
func loadModel(_ folder: String, threads: Int, precision: PrecisionOptions, quietStdout: Bool = false) throws -> Model {
    let model: Model
    do {
        model = try Model(folder: folder, threads: threads)
    } catch {
        throw RunFailure("\(error)")
    }
    model.precision = try precision.chosen(onStandardError: quietStdout)
    return model
}

/// How the run in `folder` prepared its training images; inputs are prepared the same way.
func dataPreparation(of model: Model, in folder: String) throws -> ImagePreparation {
    guard let prep = model.run?.data else { throw RunFailure("\(folder): config.json lacks the data settings") }
    return prep
}

/// Decodes and prepares the named images (files or folders) the way the run's training data was.
func loadInputs(_ paths: [String], model: Model, in folder: String) throws -> [(String, Image)] {
    let prep = try dataPreparation(of: model, in: folder)
    var out: [(String, Image)] = []
    let scan = try FolderScan.scan(paths)
    for note in scan.notes { warn(note.description) }
    for file in scan.files {
        do {
            out.append((file, try prep.load(file)))
        } catch {
            warn("skipping \(error)")
        }
    }
    return out
}

/// The largest picture a command writes, in megapixels: a grid of this size takes about a
/// gigabyte while it is made (each tile upscaled, then the grid, as floats).
let maxPictureMegapixels = 32

/// Refuses a picture of `tiles` tiles of side × side pixels, upscaled by `scale`, that would be too large.
func checkPictureSize(tiles: Int, side: Int, scale: Int, advice: String) throws {
    let tileSide = side * scale, pixels = Double(tiles) * Double(tileSide * tileSide)
    guard pixels <= Double(maxPictureMegapixels) * 1e6 else {
        throw RunFailure(String(format: "the picture would be %.0f megapixels (%d images of %d×%d), over %d: %@",
                                pixels / 1e6, tiles, tileSide, tileSide, maxPictureMegapixels, advice))
    }
}

/// Refuses to write a picture where it would destroy something: over a file that is not a PNG
/// (a checkpoint, config.json, the user's own files), over a folder, or over an input image.
func checkPictureTarget(_ path: String, inputs: [String] = []) throws {
    let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder) else { return }
    if isFolder.boolValue { throw RunFailure("\(path): is a folder; give a PNG file name") }
    if ImageDecoder.sniff(file: resolved) != .png {
        throw RunFailure("\(path): exists and is not a PNG; refusing to replace it (choose another name)")
    }
    for input in inputs where URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path == resolved {
        throw RunFailure("\(path): is one of the input images; choose another name")
    }
}
