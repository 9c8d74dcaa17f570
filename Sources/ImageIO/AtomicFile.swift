// AtomicFile: writes a file through a temporary file in the same folder, fsync and a rename,
// so a crash, a kill or a full disk never leaves a half-written file in its place.
import Foundation

public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temp = folder + "/" + temporaryName(for: url.lastPathComponent)
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ImageIOError.writeFailed(path: path, reason: Errno.text()) }
        var written = 0
        // fsync before the rename: otherwise a power cut can leave the new name on empty blocks.
        let ok: Bool = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let reason = Errno.text()
        close(fd)
        guard ok else {
            unlink(temp)
            throw ImageIOError.writeFailed(path: path, reason: reason)
        }
        guard rename(temp, path) == 0 else {
            let why = Errno.text()
            unlink(temp)
            throw ImageIOError.writeFailed(path: path, reason: why)
        }
        // The rename lives in the folder: sync it too, so the new file is durable once we return.
        let dir = open(folder, O_RDONLY)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// ".model.safetensors.tmp-<pid>": hidden, and naming the process that writes it.
    public static func temporaryName(for name: String, pid: Int32 = getpid()) -> String {
        "." + name + ".tmp-\(pid)"
    }

    /// The process id in a temporary's name, or nil when `name` is not one of ours.
    public static func writer(ofTemporary name: String) -> Int32? {
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-", options: .backwards),
              range.lowerBound > name.index(after: name.startIndex) else { return nil }
        return Int32(name[range.upperBound...])
    }
}

/// The C library's text for errno, lower-cased to read inside a sentence ("no space left on device").
public enum Errno {
    public static func text(_ code: Int32 = errno) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
