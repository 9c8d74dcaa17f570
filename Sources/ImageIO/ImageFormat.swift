// ImageFormat: PNG or JPEG, told from a file's first bytes rather than its name.
import Foundation

public enum ImageFormat: String, Sendable, Equatable {
    case png, jpeg

    public var name: String { self == .png ? "PNG" : "JPEG" }

    /// The format the signature at the start of `bytes` announces, or nil.
    public static func detect<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        let head = Array(bytes.prefix(8))
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        return nil
    }

    /// A readable rendering of a file's first bytes, for "not an image" messages: 'GIF8'.
    static func describeStart<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let head = Array(bytes.prefix(4))
        if head.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return "'" + String(decoding: head, as: UTF8.self) + "'"
        }
        return head.map { String(format: "%02X", $0) }.joined(separator: " ")
    }
}
