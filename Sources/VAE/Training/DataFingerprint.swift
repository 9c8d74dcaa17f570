// DataFingerprint: a short hash of a data set's file list, to warn when a resumed run's images changed.
import Foundation

public enum DataFingerprint {
    /// "v2-<hash>-<count>": FNV-1a over each file's path relative to the data folder it was found
    /// in (and that folder's place in `folders`), so the same images give the same fingerprint
    /// whether the folders were named relatively or absolutely, from any working directory.
    public static func of(paths: [String], folders: [String]) -> String {
        let roots = folders.map(absolute)
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 10) &* 0x100_0000_01b3
        }
        // Standardizing a path through URL costs microseconds; 60,000 of them took 0.6 s of the
        // start of a run. A file's absolute path is its folder's, standardized once, and its name.
        var folderPaths: [Substring: String] = [:]
        for path in paths { mix(relative(absolute(path, folders: &folderPaths), to: roots)) }
        return "v2-" + String(h, radix: 16) + "-\(paths.count)"
    }

    /// Whether `saved` (from a training state) and `current` name the same file list. States
    /// written before "v2" hashed the paths as they were typed, which cannot be redone from
    /// another directory: for them only the image count is compared.
    public static func matches(saved: String, current: String) -> Bool {
        if saved.isEmpty || saved.hasPrefix("v2-") { return saved.isEmpty || saved == current }
        return saved.split(separator: "-").last == current.split(separator: "-").last
    }

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// `absolute(path)`, with the folder part standardized once per folder in `folders`: for
    /// "<folder>/<name>" with a plain name (not "." or ".."), the two are the same.
    static func absolute(_ path: String, folders: inout [Substring: String]) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return absolute(path) }
        let name = path[path.index(after: slash)...]
        guard !name.isEmpty, name != ".", name != ".." else { return absolute(path) }
        let folder = path[..<slash]
        let standardized = folders[folder] ?? absolute(String(folder))
        folders[folder] = standardized
        return standardized == "/" ? "/" + name : standardized + "/" + name
    }

    /// "<index of the folder>:<path inside it>", or the path itself when no folder holds it.
    static func relative(_ path: String, to roots: [String]) -> String {
        for (i, root) in roots.enumerated() {
            if path == root { return "\(i):" + (path as NSString).lastPathComponent }
            let prefix = root.hasSuffix("/") ? root : root + "/"
            if path.hasPrefix(prefix) { return "\(i):" + path.dropFirst(prefix.count) }
        }
        return path
    }
}
