// vae encode: every image's posterior mean and log-variance, with its path, as safetensors (and CSV).
import ArgumentParser
import Foundation
import ImageIO
import VAE

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the latent codes of images (mean and log-variance of q(z|x)) for use elsewhere.",
        discussion: """
        Inputs are prepared as the run's training data was. The safetensors file holds tensors "mean" and "logvar" of shape [N, latent] (F32) and, in its header metadata, the images' paths as a JSON array under "paths", in the tensors' row order. Unreadable files are skipped with a note.
        Python: f = safetensors.safe_open(FILE, "np"); f.get_tensor("mean"); json.loads(f.metadata()["paths"]).
        """)

    @Argument(help: ArgumentHelp("A run folder written by 'vae train'.", valueName: "run"))
    var runFolder: String

    @Argument(help: "Image files or folders (PNG or JPEG, any size).")
    var inputs: [String]

    @Option(help: "Output safetensors file.")
    var out: String

    @Option(help: "Also write the codes as CSV here: path,mean_0,…,logvar_0,… (paths quoted where they need it).")
    var csv: String?

    @OptionGroup var threads: ThreadOptions
    @OptionGroup var precision: PrecisionOptions

    /// Images decoded and encoded at a time: memory stays small for any folder, and progress moves.
    static let batch = 512

    func validate() throws {
        if out.isEmpty { throw ValidationError("--out needs a file name") }
        if let csv, csv == out { throw ValidationError("--csv and --out name the same file") }
    }

    func run() throws {
        for target in [out] + (csv.map { [$0] } ?? []) { try checkLatentsTarget(target) }
        let model = try loadModel(runFolder, threads: threads.threads, precision: precision)
        let prep = try dataPreparation(of: model, in: runFolder)
        let scan: FolderScan.Result
        do { scan = try FolderScan.scan(inputs) } catch { throw RunFailure("\(error)") }
        for note in scan.notes { warn(note.description) }
        let L = model.config.latent, progress = ProgressLine()
        var paths: [String] = [], mean: [Float] = [], logVariance: [Float] = []
        var skipped = 0
        for start in stride(from: 0, to: scan.files.count, by: Self.batch) {
            var planar: [Float] = [], count = 0
            for file in scan.files[start..<min(start + Self.batch, scan.files.count)] {
                do {
                    planar += try prep.load(file).planar
                    paths.append(file)
                    count += 1
                } catch {
                    progress.finish()
                    warn("skipping \(error)")
                    skipped += 1
                }
            }
            if count > 0 {
                let codes = model.encode(planar, count: count)
                mean += codes.mean
                logVariance += codes.logVariance
            }
            // Redrawn on a terminal; in a log, a line per tenth of the images.
            let done = min(start + Self.batch, scan.files.count), total = scan.files.count
            progress.update("encoding \(ProgressLine.bar(done, total)) \(done)/\(total) images",
                            force: 10 * done / total > 10 * start / total)
        }
        progress.finish()
        guard !paths.isEmpty else { throw RunFailure("no readable PNG or JPEG images in \(inputs.joined(separator: ", "))") }
        let export = LatentExport(paths: paths, latent: L, mean: mean, logVariance: logVariance)
        try ensureParentFolder(of: out)
        try export.safetensors().write(to: out)
        print("wrote \(out) (\(paths.count) images × \(L) latent dimensions\(skipped > 0 ? ", \(skipped) unreadable files skipped" : ""))")
        if let csv {
            try ensureParentFolder(of: csv)
            try AtomicFile.write(export.csv(), to: csv)
            print("wrote \(csv)")
        }
    }

    /// Refuses to replace anything but an earlier output of `vae encode` (a folder, a checkpoint, an image).
    func checkLatentsTarget(_ path: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return }
        if isFolder.boolValue { throw RunFailure("\(path): is a folder; give a file name") }
        if !LatentExport.isOurs(path) {
            throw RunFailure("\(path): exists and is not a file 'vae encode' wrote; refusing to replace it (choose another name)")
        }
    }
}
