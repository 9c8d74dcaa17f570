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
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        guard exists, !isDirectory.boolValue, let handle = FileHandle(forReadingAtPath: path) else {
            let reason = !exists ? "no such file" : isDirectory.boolValue ? "is a folder" : "permission denied"
            throw ImageIOError.unreadable(path: path, reason: reason)
        }
        defer { try? handle.close() }
        do {
            let data = try handle.read(upToCount: limit + 1) ?? Data()
            if data.count > limit {
                throw ImageIOError.tooLarge(path: path, reason: "file is over \(limit >> 20) MiB")
            }
            return [UInt8](data)
        } catch let error as ImageIOError {
            throw error
        } catch {
            throw ImageIOError.unreadable(path: path, reason: error.localizedDescription)
        }
    }

    /// Whether the file's first bytes announce PNG or JPEG (used to scan folders).
    public static func sniff(file path: String) -> ImageFormat? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 8) else { return nil }
        return ImageFormat.detect([UInt8](head))
    }
}
