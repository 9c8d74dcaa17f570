// VAEProcess: a `vae` started in a chosen directory, its output in files, to be waited for or killed.
import Foundation
import TestSupport

final class VAEProcess {
    let process = Process()
    let outPath: String, errPath: String

    /// Starts `vae arguments` in `directory` (default: this process's).
    init(_ arguments: [String], in directory: String? = nil) throws {
        let logs = temporaryFolder("vae-proc")
        (outPath, errPath) = (logs + "/stdout", logs + "/stderr")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = try vaeBinary()
        process.arguments = arguments
        process.environment = vaeEnvironment()
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for the end. `status` is the exit code, or the signal number when `killed`.
    func wait() -> (status: Int32, killed: Bool, stdout: String, stderr: String) {
        process.waitUntilExit()
        let read = { (p: String) in (try? String(contentsOfFile: p, encoding: .utf8)) ?? "" }
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, read(outPath), read(errPath))
    }
}

/// Runs `vae arguments` in `directory` to the end.
func vae(_ arguments: [String], in directory: String) throws -> Result {
    let r = try VAEProcess(arguments, in: directory).wait()
    return Result(status: r.status, stdout: r.stdout, stderr: r.stderr)
}

/// Datasets/sample: the 40 small images committed with the project.
let sampleData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Datasets/sample").path

/// A small model that trains an epoch of Datasets/sample in milliseconds.
let tinyModel = ["--size", "16", "--channels", "1", "--widths", "8,16", "--latent", "4", "--batch", "8"]

func bytes(_ path: String) -> Data? { try? Data(contentsOf: URL(fileURLWithPath: path)) }

/// The lines of metrics.jsonl without their timings.
func lossLines(_ run: String) -> [String] {
    ((try? String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").map { line in
        line.split(separator: ",").filter { !$0.contains("imagesPerSecond") && !$0.contains("elapsedSeconds") }.joined(separator: ",")
    }
}
