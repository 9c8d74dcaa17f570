// Durability, seen through strace: every file of a run (and the image cache) is synced before its rename, and its folder after.
import Foundation
import Testing
import TestSupport

let strace = "/usr/bin/strace"

@Suite struct DurabilityTests {
    /// A power cut after a rename must find the new bytes (fsync of the file before the rename)
    /// and the new name (fsync of the folder after it). Runs where strace is installed.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: strace)))
    func everyWriteIsSyncedBeforeItsRenameAndItsFolderAfter() throws {
        let base = temporaryFolder("vae-sync")
        let trace = base + "/trace"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: strace)
        process.arguments = ["-f", "-qq", "-e", "trace=openat,fsync,rename,close", "-o", trace, try vaeBinary().path,
                             "train", sampleData, "--epochs", "1", "--out", base + "/run", "--cache", base + "/cache"] + tinyModel
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        // openat(AT_FDCWD, "path", …) = fd · fsync(fd) = 0 · rename("from", "to") = 0
        var open: [Int: String] = [:], lastSynced: String?, pendingFolder: String?
        var renamed: [String] = []
        for line in try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init) {
            if let m = line.firstMatch(of: #/openat\(AT_FDCWD, "([^"]+)".* = (\d+)$/#), let fd = Int(m.2) {
                open[fd] = String(m.1)
            } else if let m = line.firstMatch(of: #/fsync\((\d+)\)\s+= 0/#), let fd = Int(m.1), let path = open[fd] {
                if let folder = pendingFolder {
                    #expect(path == folder, "the first sync after a rename is not its folder's: \(path)")
                    pendingFolder = nil
                }
                lastSynced = path
            } else if let m = line.firstMatch(of: #/rename\("([^"]+)", "([^"]+)"\) = 0/#) {
                #expect(lastSynced == String(m.1), "\(m.2) renamed from an unsynced temporary")
                #expect(pendingFolder == nil)
                pendingFolder = (String(m.1) as NSString).deletingLastPathComponent
                renamed.append((String(m.2) as NSString).lastPathComponent)
            }
        }
        #expect(pendingFolder == nil)
        // The image cache, written before training, goes the same way.
        #expect(renamed.first?.hasSuffix(".vaecache") == true && renamed.count { $0.hasSuffix(".vaecache") } == 1)
        renamed.removeAll { $0.hasSuffix(".vaecache") }
        #expect(Set(renamed) == ["config.json", "metrics.jsonl", "reconstructions.png", "samples.png", "report.html",
                                 "training_state.safetensors", "model.safetensors", "prior.safetensors", "samples-standard.png",
                                 "traversal.png", "interpolation.png"])
        // The epoch's checkpoint is written last, the training state before the model; then, at the
        // end of the run, the prior fitted to that model, its pictures, the latent views and the report.
        let end = try #require(renamed.lastIndex(of: "model.safetensors"))
        #expect(renamed[end - 1] == "training_state.safetensors")
        #expect(renamed[(end + 1)...] == ["prior.safetensors", "samples.png", "samples-standard.png", "traversal.png",
                                                "interpolation.png", "report.html"])
    }
}
