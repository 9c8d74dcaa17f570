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
            var inFolder: [String] = []
            try walk(path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path, into: &inFolder)
            if sniff { inFolder = inFolder.filter { ImageDecoder.sniff(file: $0) != nil } }
            found += inFolder.sorted()
        }
        return found
    }

    /// Appends every regular file under `folder` (recursively, hidden entries skipped) to `files`.
    /// readdir with d_type: FileManager's enumerator costs a stat and a URL per file, and made
    /// listing 60,000 files the slowest part of loading them.
    static func walk(_ folder: String, into files: inout [String]) throws {
        guard let dir = opendir(folder) else {
            throw ImageIOError.unreadable(path: folder, reason: String(cString: strerror(errno)))
        }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasPrefix(".") { continue }
            let path = folder + "/" + name
            var type = Int32(entry.pointee.d_type)
            if type == Int32(DT_UNKNOWN) || type == Int32(DT_LNK) {
                var st = stat()
                guard stat(path, &st) == 0 else { continue }
                type = (st.st_mode & S_IFMT) == S_IFDIR ? Int32(DT_DIR) : (st.st_mode & S_IFMT) == S_IFREG ? Int32(DT_REG) : 0
            }
            if type == Int32(DT_DIR) {
                try walk(path, into: &files)
            } else if type == Int32(DT_REG) {
                files.append(path)
            }
        }
    }
}
