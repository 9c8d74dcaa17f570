// `vae inspect` and `vae train` on folders a user can get wrong: loops, FIFOs, locked folders, bombs, runs inside data.
import Foundation
import Testing
import TestSupport
import ImageIO

/// A PNG whose header declares `width`×`height` RGBA but whose data stops after 64 bytes: a
/// file of about a hundred bytes that a decoder still allocates the whole image for.
func declaringPNG(width: Int, height: Int) -> [UInt8] {
    func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        return bigEndian32(body.count) + typed + bigEndian32(Int(crc32(typed)))
    }
    func bigEndian32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
    let ihdr = bigEndian32(width) + bigEndian32(height) + [8, 6, 0, 0, 0]
    // 64 zero bytes as one stored (uncompressed) deflate block in a zlib stream.
    let n = 64
    let zlib: [UInt8] = [0x78, 0x01, 1, UInt8(n), 0, UInt8(~n & 0xFF), 0xFF] + [UInt8](repeating: 0, count: n)
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", [])
}

func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// Runs `vae` as the unprivileged user `nobody` (through setpriv), for what root is never refused.
func vaeAsNobody(_ arguments: [String], timeout: Double = 300) throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
    process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", try vaeBinary().path] + arguments
    process.environment = vaeEnvironment()
    let folder = temporaryFolder("vae-cli-nobody-output")
    let out = folder + "/stdout", err = folder + "/stderr"
    FileManager.default.createFile(atPath: out, contents: nil)
    FileManager.default.createFile(atPath: err, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: out)
    process.standardError = FileHandle(forWritingAtPath: err)
    let done = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in done.signal() }
    try process.run()
    if done.wait(timeout: .now() + timeout) == .timedOut {
        process.terminate()
        throw CLIError("vae \(arguments.joined(separator: " ")) as nobody did not finish in \(timeout) s")
    }
    return Result(status: process.terminationStatus, stdout: try String(contentsOfFile: out, encoding: .utf8),
                  stderr: try String(contentsOfFile: err, encoding: .utf8))
}

let runningAsRoot = getuid() == 0
let canDropRoot = FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

@Suite(.serialized) struct HostileFolderTests {
    /// Two `ln -s .` links and one `ln -s ..` used to hang both commands (the `..` one growing to
    /// 20 GB); a FIFO blocked for ever; a run folder inside the data folder was trained on.
    @Test func loopsFifosAndRunFoldersInTheDataFolder() throws {
        let folder = try makeImageFolder(count: 6)
        for (name, target) in [("loop", "."), ("loop2", "."), ("up", "..")] {
            try FileManager.default.createSymbolicLink(atPath: folder + "/" + name, withDestinationPath: target)
        }
        #expect(mkfifo(folder + "/pipe.png", 0o644) == 0)
        var r = try vae(["inspect", folder], timeout: 120)
        #expect(r.status == 0)
        #expect(r.stdout.contains("6 files: 6 ok, 0 failed"))
        #expect(r.stdout.contains("note \(folder)/loop: already scanned"))
        #expect(r.stdout.contains("note \(folder)/up: links to a folder that holds it (a loop): skipped"))
        #expect(r.stdout.contains("note \(folder)/pipe.png: a FIFO, not a regular file: skipped"))

        // A first run writes into the data folder; a second run on the folder must not train on it.
        let first = folder + "/run-1", second = temporaryFolder("vae-cli-hostile-run")
        r = try vae(["train", folder, "--size", "16", "--epochs", "1", "--out", first], timeout: 300)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(": 6 images ("))
        #expect(FileManager.default.fileExists(atPath: first + "/samples.png"))
        r = try vae(["train", folder, "--size", "16", "--epochs", "1", "--out", second + "/run"], timeout: 300)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(": 6 images ("))
        #expect(r.stderr.contains("\(first): a vae run folder (config.json, model.safetensors), not data: skipped"))
        #expect(r.stderr.contains("\(folder)/pipe.png: a FIFO, not a regular file: skipped"))
    }

    @Test func aFIFOGivenAsAnArgumentIsSkippedNotWaitedOn() throws {
        let fifo = temporaryFolder("vae-cli-fifo") + "/pipe.png"
        #expect(mkfifo(fifo, 0o644) == 0)
        let r = try vae(["inspect", fifo], timeout: 120)
        #expect(r.status == 0)
        #expect(r.stdout.contains("note \(fifo): a FIFO, not a regular file: skipped"))
    }

    /// chmod 000 stops reads only for users other than root; as root the commands run as nobody.
    @Test(.enabled(if: !runningAsRoot || canDropRoot, "running as root without /usr/bin/setpriv: chmod 000 does not stop root's reads"))
    func anUnreadableSubfolderIsReportedAndTheRestIsRead() throws {
        let folder = try makeImageFolder(count: 4)
        let locked = folder + "/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
        try Image(width: 16, height: 16, channels: 3, fill: 0.5).writePNG(to: locked + "/hidden.png")
        #expect(chmod(locked, 0) == 0)
        defer { _ = chmod(locked, 0o755) }
        let out = temporaryFolder("vae-cli-locked-run")
        #expect(chmod(out, 0o777) == 0)   // nobody writes the run there
        let run: ([String]) throws -> Result = { runningAsRoot ? try vaeAsNobody($0) : try vae($0) }
        // Readable by nobody whatever the umask and however the images were written.
        #expect(chmod(folder, 0o755) == 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name.hasSuffix(".png") {
            #expect(chmod(folder + "/" + name, 0o644) == 0)
        }
        var r = try run(["inspect", folder])
        #expect(r.status == 1)
        #expect(r.stdout.contains("error \(locked): cannot read folder (Permission denied): skipped"))
        #expect(r.stdout.contains("5 files: 4 ok, 1 failed"))
        r = try run(["train", folder, "--size", "16", "--epochs", "1", "--out", out + "/run"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(": 4 images ("))
        #expect(r.stderr.contains("\(locked): cannot read folder (Permission denied): skipped"))
    }

    /// A PNG declaring 10,000×10,000 RGBA in a few hundred bytes: named in the log with its size,
    /// decoded within the shared budget, and (being truncated) skipped as broken.
    @Test func aDecompressionBombIsNamedAndDecodedWithinTheBudget() throws {
        let folder = try makeImageFolder(count: 6)
        try Data(declaringPNG(width: 10000, height: 10000)).write(to: URL(fileURLWithPath: folder + "/bomb.png"))
        var r = try vae(["train", folder, "--size", "16", "--epochs", "1", "--out", temporaryFolder("vae-cli-bomb") + "/run"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("\(folder)/bomb.png: 10000×10000 (100 megapixels), decoded within the 100-megapixel budget the loading threads share"))
        #expect(r.stderr.contains("  \(folder)/bomb.png: broken PNG"))
        #expect(r.stdout.contains(": 6 images ("))
        // Under a lower limit it is refused from its header, and not announced as decoded.
        r = try vae(["train", folder, "--size", "16", "--epochs", "1", "--max-megapixels", "50",
                     "--out", temporaryFolder("vae-cli-bomb") + "/run"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("decoded within"))
        #expect(r.stderr.contains("bomb.png: too large (10000x10000 is 100000000 pixels, over the limit of 50000000)"))
    }

    @Test func maxMegapixelsIsRangeChecked() throws {
        let folder = try makeImageFolder(count: 1)
        for value in ["0", "-1", "nan", "inf", "1001", "1e300"] {
            for command in [["inspect", folder], ["train", folder, "--size", "16"]] {
                let r = try vae(command + ["--max-megapixels=\(value)"])
                #expect(r.status != 0, "\(command[0]) --max-megapixels=\(value)")
                #expect(r.stderr.contains("--max-megapixels must be above 0 and at most 1000"), "\(command[0]) \(value): \(r.stderr)")
            }
        }
        let r = try vae(["inspect", folder, "--max-megapixels", "0.0001"])
        #expect(r.status == 1 && r.stdout.contains("over the limit of 100"))
    }
}
