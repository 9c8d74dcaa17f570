// RunFolder: a training run's folder: its lock, config.json, checkpoints, pictures, metrics, report and temporaries.
import Foundation
import ImageIO
import VAECore

/// While a RunFolder exists its process holds an exclusive flock on the folder, so two
/// `vae train` never write one folder; the kernel drops the lock when the process ends, even by
/// kill -9, so a lock is never left behind.
public final class RunFolder {
    public let path: String
    private let descriptor: Int32
    public let metrics: MetricsLog

    public static let pictureFiles = ["reconstructions.png", "samples.png"]
    public static let reportFile = "report.html"
    /// What a run writes; any other file makes a folder not (only) a run's.
    static var runFiles: Set<String> {
        Set([Checkpoint.configFile, Checkpoint.modelFile, Checkpoint.stateFile, "metrics.jsonl", reportFile, SavedPrior.file,
             standardSamplesFile, traversalFile, interpolationFile] + pictureFiles)
    }

    private init(path: String) throws {
        self.path = path
        metrics = MetricsLog(folder: path)
        descriptor = Foundation.open(path, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw RunFolderError.cannotOpen(folder: path, reason: Errno.text()) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK { throw RunFolderError.locked(folder: path) }
            throw RunFolderError.cannotOpen(folder: path, reason: Errno.text(code))
        }
    }

    deinit { close(descriptor) }

    /// Creates and locks the folder of a new run. A folder that holds anything but temporaries
    /// of writers that have ended is refused unless `force`; with `force`, a previous run's
    /// checkpoint in it is removed, so the folder never pairs new settings with an old state.
    public static func newRun(at path: String, force: Bool) throws -> RunFolder {
        try Folders.create(path)
        let folder = try RunFolder(path: path)
        folder.removeStaleTemporaries()
        let entries = folder.entries()
        if entries.contains(Checkpoint.configFile) {
            let trained = entries.contains(Checkpoint.modelFile) || entries.contains(Checkpoint.stateFile)
            guard force else { throw RunFolderError.holdsRun(folder: path, trained: trained) }
            for file in [Checkpoint.stateFile, Checkpoint.modelFile, Checkpoint.configFile, SavedPrior.file] { unlink(path + "/" + file) }
        } else if !entries.isEmpty && !force {
            let others = entries.filter { !runFiles.contains($0) }
            let shown = (others.isEmpty ? entries : others)
            throw RunFolderError.notEmpty(folder: path, examples: Array(shown.prefix(3)), total: shown.count)
        }
        return folder
    }

    /// Locks the folder of a run to continue it.
    public static func existingRun(at path: String) throws -> RunFolder {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunFolderError.notARun(folder: path)
        }
        let folder = try RunFolder(path: path)
        guard FileManager.default.fileExists(atPath: folder.file(Checkpoint.configFile)) else {
            throw RunFolderError.notARun(folder: path)
        }
        folder.removeStaleTemporaries()
        return folder
    }

    public func file(_ name: String) -> String { path + "/" + name }

    /// The folder's entries, sorted.
    func entries() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Deletes temporaries (".model.safetensors.tmp-<pid>") that a write cut short left here: those
    /// of processes that have ended, and this one's. Returns their names.
    @discardableResult
    public func removeStaleTemporaries() -> [String] {
        entries().filter { name in
            guard let pid = AtomicFile.writer(ofTemporary: name) else { return false }
            // kill(pid, 0) fails with ESRCH only when no such process exists.
            let ended = pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH)
            return ended && unlink(file(name)) == 0
        }
    }

    public func readConfig() throws -> RunConfig { try RunConfig.read(file(Checkpoint.configFile)) }

    public func writeConfig(_ config: RunConfig) throws { try config.write(to: file(Checkpoint.configFile)) }

    public var hasTrainingState: Bool { FileManager.default.fileExists(atPath: file(Checkpoint.stateFile)) }

    public func saveCheckpoint(config: RunConfig, trainer: Trainer, state: TrainingState) throws {
        try Checkpoint.save(folder: path, config: config, network: trainer.network, params: trainer.params,
                            average: trainer.average, adam: trainer.adam, state: state)
    }

    public func resumePoint(network: Network, averaging: Bool) throws -> Checkpoint.ResumePoint {
        try Checkpoint.resumePoint(folder: path, network: network, averaging: averaging)
    }

    /// Writes model.safetensors again from the weights of the training state (see Checkpoint).
    public func rewriteModel(config: RunConfig, network: Network, weights: Buffer, state: TrainingState) throws {
        try Checkpoint.writeModel(folder: path, config: config, network: network, weights: weights, state: state)
    }

    /// reconstructions.png and samples.png.
    public func writePictures(reconstructions: Image, samples: Image) throws {
        try reconstructions.writePNG(to: file(Self.pictureFiles[0]))
        try samples.writePNG(to: file(Self.pictureFiles[1]))
    }

    /// report.html; with `prior`, showing the samples from it and from N(0, I) and their held-out figures.
    /// With `latentKL`, also the KL bars per latent dimension and the traversal and interpolation pictures.
    public func writeReport(config: RunConfig, parameterCount: Int, images: Int, validationImages: Int, skippedFiles: Int,
                            prior: SavedPrior? = nil, latentKL: [Double]? = nil) throws {
        try Report.write(folder: path, config: config, metrics: metrics.read(), parameterCount: parameterCount,
                         images: images, validationImages: validationImages, skippedFiles: skippedFiles, prior: prior,
                         latentKL: latentKL)
    }

    /// "Output/<data folder name>-<date>-<time>".
    public static func defaultPath(for data: String, date: Date = Date()) -> String {
        let name = URL(fileURLWithPath: data).standardizedFileURL.lastPathComponent
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return "Output/\(name.isEmpty ? "run" : name)-\(formatter.string(from: date))"
    }
}
