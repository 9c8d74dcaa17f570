// ImageIOError: every way reading or writing an image can fail, with the file and the cause.
import Foundation

public enum ImageIOError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case empty(path: String)
    case tooLarge(path: String, reason: String)
    case notAnImage(path: String, start: String)
    case corrupt(path: String, format: ImageFormat, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read file (\(reason))"
        case let .empty(path): return "\(path): empty file"
        case let .tooLarge(path, reason): return "\(path): too large (\(reason))"
        case let .notAnImage(path, start):
            return "\(path): not a PNG or JPEG file (starts with \(start))"
        case let .corrupt(path, format, reason): return "\(path): broken \(format.name) (\(reason))"
        case let .writeFailed(path, reason): return "\(path): cannot write (\(reason))"
        }
    }

    /// The cause alone, without the path (for lists that already show the path).
    public var reason: String {
        let text = description
        guard let colon = text.range(of: ": ") else { return text }
        return String(text[colon.upperBound...])
    }
}
