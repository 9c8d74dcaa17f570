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
        for path in paths { mix(relative(absolute(path), to: roots)) }
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
