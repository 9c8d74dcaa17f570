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
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try create(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw ImageIOError.writeFailed(path: path, reason: Errno.text())
        }
    }
}
