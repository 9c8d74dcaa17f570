// FolderScan: finds the PNG and JPEG files under folders, by content, in a stable order.
import Foundation

public enum FolderScan {
    /// Every file under `paths` (files are taken as given, folders are walked recursively,
    /// hidden entries skipped) whose first bytes say PNG or JPEG, sorted by path.
    /// With `sniff` false, every regular file is returned (for `vae inspect`, which reports the rest).
    public static func imageFiles(in paths: [String], sniff: Bool = true) throws -> [String] {
        var found: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ImageIOError.unreadable(path: path, reason: "no such file or folder")
            }
            if !isDirectory.boolValue { found.append(path); continue }
            guard let walker = fm.enumerator(at: URL(fileURLWithPath: path),
                                             includingPropertiesForKeys: [.isRegularFileKey],
                                             options: [.skipsHiddenFiles]) else {
                throw ImageIOError.unreadable(path: path, reason: "cannot list folder")
            }
            var inFolder: [String] = []
            for case let url as URL in walker {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
                let file = path.hasSuffix("/") ? path + url.path.dropFirst(URL(fileURLWithPath: path).path.count + 1)
                                               : path + "/" + url.path.dropFirst(URL(fileURLWithPath: path).path.count + 1)
                if !sniff || ImageDecoder.sniff(file: file) != nil { inFolder.append(file) }
            }
            found += inFolder.sorted()
        }
        return found
    }
}
