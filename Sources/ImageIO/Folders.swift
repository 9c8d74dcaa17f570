// Folders: creates folders with their parents, failing with the path and the system's cause.
import Foundation

public enum Folders {
    /// mkdir -p. FileManager's errors print as NSCocoaErrorDomain dumps; these read "x/y: not a directory".
    public static func create(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ImageIOError.writeFailed(path: path, reason: "a file of that name is in the way")
            }
            return
        }
        let parent = parent(of: path)
        if !parent.isEmpty && parent != path { try create(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw ImageIOError.writeFailed(path: path, reason: Errno.text())
        }
    }

    /// The folder part of a path: "a/b" → "a", "b" → "", "/b" → "/", "a/b/" → "a". Written out
    /// because NSString's deletingLastPathComponent traps on one-character names ("q", "x/")
    /// in the Linux Foundation.
    public static func parent(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "" }
        var parent = p[..<slash]
        while parent.count > 1 && parent.hasSuffix("/") { parent = parent.dropLast() }
        return parent.isEmpty ? "/" : String(parent)
    }
}
