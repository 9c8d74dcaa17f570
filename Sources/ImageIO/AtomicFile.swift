// AtomicFile: writes a file through a temporary file in the same folder, fsync and a rename,
// so a crash, a kill or a full disk never leaves a half-written file in its place.
import Foundation

public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { sink in try bytes.withUnsafeBytes { try sink.write($0) } }
    }

    /// Writes what `body` hands the sink, in as many pieces as it likes, so a large file
    /// (an image cache) never has to be assembled in memory first.
    public static func write(to path: String, _ body: (Sink) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temp = folder + "/" + temporaryName(for: url.lastPathComponent)
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ImageIOError.writeFailed(path: path, reason: Errno.text()) }
        let sink = Sink(fd: fd)
        var failure: Error?
        do { try body(sink) } catch { failure = error }
        // fsync before the rename: otherwise a power cut can leave the new name on empty blocks.
        let synced = failure == nil && sink.failure == nil && fsync(fd) == 0
        let reason = sink.failure ?? Errno.text()
        close(fd)
        guard synced else {
            unlink(temp)
            if let failure, !(failure is Sink.Failed) { throw failure }
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

    /// Where `write(to:_:)`'s body writes: whole pieces, retried after short writes.
    public final class Sink {
        let fd: Int32
        /// The system's reason for the first write that failed.
        var failure: String?
        struct Failed: Error {}
        init(fd: Int32) { self.fd = fd }

        public func write(_ raw: UnsafeRawBufferPointer) throws {
            guard failure == nil else { throw Failed() }
            var written = 0
            while written < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    failure = n == 0 ? "nothing written" : Errno.text()
                    throw Failed()
                }
                written += n
            }
        }

        public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

        /// Writes `bytes` at `offset`, over what is there (a header whose numbers are known last).
        public func write(_ bytes: [UInt8], at offset: Int) throws {
            guard failure == nil else { throw Failed() }
            var written = 0
            try bytes.withUnsafeBytes { raw in
                while written < raw.count {
                    let n = pwrite(fd, raw.baseAddress! + written, raw.count - written, off_t(offset + written))
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 {
                        failure = n == 0 ? "nothing written" : Errno.text()
                        throw Failed()
                    }
                    written += n
                }
            }
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
