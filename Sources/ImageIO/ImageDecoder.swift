// ImageDecoder: reads a file, tells PNG from JPEG by its first bytes, and decodes it safely.
import Foundation

public struct DecodeOptions: Sendable {
    /// Images with more pixels than this are refused before any pixel memory is allocated.
    public var maxPixels: Int = 100_000_000
    /// Files larger than this are refused before they are read.
    public var maxFileBytes: Int = 512 << 20
    /// When set, a JPEG may be decoded at 1/2, 1/4 or 1/8 of its size as long as its shorter
    /// side stays at least this long (libjpeg's DCT scaling: much faster for large photos).
    public var minimumSide: Int?

    public init(maxPixels: Int = 100_000_000, maxFileBytes: Int = 512 << 20, minimumSide: Int? = nil) {
        self.maxPixels = maxPixels
        self.maxFileBytes = maxFileBytes
        self.minimumSide = minimumSide
    }
}

public enum ImageDecoder {
    /// Decodes the PNG or JPEG file at `path`.
    public static func decode(file path: String, options: DecodeOptions = DecodeOptions()) throws -> DecodedImage {
        let data = try readFile(path, limit: options.maxFileBytes)
        return try decode(data, path: path, options: options)
    }

    /// Decodes PNG or JPEG bytes; `path` only names the source in errors.
    public static func decode(_ data: [UInt8], path: String, options: DecodeOptions = DecodeOptions()) throws -> DecodedImage {
        guard !data.isEmpty else { throw ImageIOError.empty(path: path) }
        switch ImageFormat.detect(data) {
        case .png: return try PNGDecoder.decode(data, path: path, maxPixels: options.maxPixels)
        case .jpeg:
            return try JPEGDecoder.decode(data, path: path, maxPixels: options.maxPixels,
                                          minimumSide: options.minimumSide ?? 0)
        case nil: throw ImageIOError.notAnImage(path: path, start: ImageFormat.describeStart(data))
        }
    }

    /// The whole file, refusing anything over `limit` bytes and anything that is not a regular file.
    public static func readFile(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = try openRegularFile(path)
        defer { close(fd) }
        var st = stat()
        _ = fstat(fd, &st)
        if Int(st.st_size) > limit { throw ImageIOError.tooLarge(path: path, reason: "file is over \(limit >> 20) MiB") }
        // Sized by fstat, grown if the file grows while read; one byte over `limit` tells it is too large.
        var bytes = [UInt8](repeating: 0, count: Swift.min(Int(st.st_size), limit) + 1)
        var count = 0
        while true {
            if count == bytes.count {
                if count > limit { throw ImageIOError.tooLarge(path: path, reason: "file is over \(limit >> 20) MiB") }
                bytes += [UInt8](repeating: 0, count: Swift.min(bytes.count, limit + 1 - bytes.count))
            }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageIOError.unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            count += n
        }
        bytes.removeSubrange(count...)
        return bytes
    }

    /// Whether the file's first bytes announce PNG or JPEG (used to scan folders).
    public static func sniff(file path: String) -> ImageFormat? {
        guard let fd = try? openRegularFile(path) else { return nil }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 8)
        let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        return n > 0 ? ImageFormat.detect(Array(head.prefix(n))) : nil
    }

    /// A descriptor open for reading on `path`, which must be a regular file. O_NONBLOCK because
    /// opening a FIFO for reading otherwise waits for a writer, for ever; it changes nothing for files.
    static func openRegularFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ENOENT ? "no such file" : errno == EACCES ? "permission denied" : String(cString: strerror(errno))
            throw ImageIOError.unreadable(path: path, reason: reason)
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            let mode = st.st_mode & S_IFMT
            close(fd)
            throw ImageIOError.unreadable(path: path, reason: mode == S_IFDIR ? "is a folder" : "\(FolderScan.kindName(st.st_mode)), not a regular file")
        }
        return fd
    }
}
