// FolderScan: finds the PNG and JPEG files under folders, by content, in a stable order, each folder once.
import Foundation

public enum FolderScan {
    /// Something the scan left out, and why: one line naming the path.
    public struct Note: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            /// A folder that could not be listed; the scan went on with the rest.
            case unreadableFolder
            /// A FIFO, socket or device: opening one can block for ever or read without end.
            case notARegularFile
            /// A folder reached again through a link (a loop, or a second way in).
            case alreadyScanned
            /// A folder `vae train` writes: its pictures are the model's, not data.
            case runFolder
            /// A link whose target does not exist.
            case brokenLink
        }
        public var path: String
        public var kind: Kind
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public struct Result: Sendable {
        /// Sorted by path within each argument, arguments in the order given.
        public var files: [String]
        public var notes: [Note]
    }

    /// The files `vae train` writes that make a folder a run folder: config.json beside either of these.
    static let runFolderMarker = "config.json"
    static let runFolderWeights = ["model.safetensors", "training_state.safetensors"]

    /// Every file under `paths` (files are taken as given, folders are walked recursively,
    /// hidden entries skipped) whose first bytes say PNG or JPEG, sorted by path.
    /// With `sniff` false, every regular file is returned (for `vae inspect`, which reports the rest).
    public static func imageFiles(in paths: [String], sniff: Bool = true) throws -> [String] {
        try scan(paths, sniff: sniff).files
    }

    /// As `imageFiles`, with notes on what was left out. Throws only when a path named in
    /// `paths` does not exist or cannot be listed; trouble below it becomes a note.
    public static func scan(_ paths: [String], sniff: Bool = true) throws -> Result {
        var walker = Walker()
        var found: [String] = []
        for path in paths {
            var st = stat()
            guard stat(path, &st) == 0 else {
                let reason = errno == ENOENT ? "no such file or folder" : String(cString: strerror(errno))
                throw ImageIOError.unreadable(path: path, reason: reason)
            }
            switch st.st_mode & S_IFMT {
            case S_IFREG: found.append(path)
            case S_IFDIR:
                var inFolder = try walker.walk(root: path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path)
                if sniff { inFolder = inFolder.filter { ImageDecoder.sniff(file: $0) != nil } }
                found += inFolder.sorted()
            default:
                walker.notes.append(Note(path: path, kind: .notARegularFile, reason: "\(kindName(st.st_mode)), not a regular file: skipped"))
            }
        }
        return Result(files: found, notes: walker.notes)
    }

    /// "a FIFO", "a socket", … for a file mode that is neither a file nor a folder.
    static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        default: return "a special file"
        }
    }

    /// A folder's identity: links and bind mounts give one folder many paths, never two of these.
    struct FolderID: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ st: stat) { (device, inode) = (UInt64(st.st_dev), UInt64(st.st_ino)) }
    }

    /// The walk over every argument of one scan: folders seen are remembered across arguments, so
    /// `vae train data data/sub` reads data/sub once.
    struct Walker {
        var visited: Set<FolderID> = []
        var notes: [Note] = []

        /// Every regular file under `root`. Folders reached through links are walked after the
        /// real tree, so a file reachable both ways is listed under its real path.
        mutating func walk(root: String) throws -> [String] {
            // A link to a folder that holds the root (`ln -s .. up`) is a loop that would also
            // read everything beside the data folder.
            let ancestors = Self.ancestors(of: root)
            var files: [String] = []
            var real: [String] = [], linked: [String] = []
            guard try visit(root, isRoot: true, ancestors: ancestors, files: &files, real: &real, linked: &linked) else {
                return files
            }
            while let next = real.popLast() ?? (linked.isEmpty ? nil : linked.removeFirst()) {
                _ = try visit(next, isRoot: false, ancestors: ancestors, files: &files, real: &real, linked: &linked)
            }
            return files
        }

        /// Lists one folder: files into `files`, subfolders into `real` or `linked`. Returns
        /// false when the folder was skipped. Only the root being unreadable throws.
        mutating func visit(_ folder: String, isRoot: Bool, ancestors: Set<FolderID>, files: inout [String],
                            real: inout [String], linked: inout [String]) throws -> Bool {
            guard let dir = opendir(folder) else {
                let reason = String(cString: strerror(errno))
                if isRoot { throw ImageIOError.unreadable(path: folder, reason: reason) }
                notes.append(Note(path: folder, kind: .unreadableFolder, reason: "cannot read folder (\(reason)): skipped"))
                return false
            }
            defer { closedir(dir) }
            // The identity of what was opened, not of what the path named a moment before.
            var st = stat()
            guard fstat(dirfd(dir), &st) == 0 else {
                notes.append(Note(path: folder, kind: .unreadableFolder,
                                  reason: "cannot read folder (\(String(cString: strerror(errno)))): skipped"))
                return false
            }
            let id = FolderID(st)
            if ancestors.contains(id) {
                notes.append(Note(path: folder, kind: .alreadyScanned, reason: "links to a folder that holds it (a loop): skipped"))
                return false
            }
            guard visited.insert(id).inserted else {
                notes.append(Note(path: folder, kind: .alreadyScanned, reason: "already scanned, reached by another path or link: skipped"))
                return false
            }
            var entries: [(name: String, type: Int32)] = []
            while true {
                errno = 0   // readdir returns nil both at the end and on an error; errno tells them apart
                guard let entry = readdir(dir) else { break }
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if !name.hasPrefix(".") { entries.append((name, Int32(entry.pointee.d_type))) }
            }
            if errno != 0 {
                notes.append(Note(path: folder, kind: .unreadableFolder,
                                  reason: "cannot read folder (\(String(cString: strerror(errno)))): skipped"))
                return false
            }
            let names = Set(entries.map(\.name))
            if names.contains(FolderScan.runFolderMarker), let weights = FolderScan.runFolderWeights.first(where: names.contains) {
                notes.append(Note(path: folder, kind: .runFolder,
                                  reason: "a vae run folder (\(FolderScan.runFolderMarker), \(weights)), not data: skipped"))
                return false
            }
            // Sorted, so that which of two links to one folder is walked does not depend on readdir's order.
            for (name, type) in entries.sorted(by: { $0.name < $1.name }) {
                let path = folder + "/" + name
                switch type {
                case Int32(DT_REG): files.append(path)
                case Int32(DT_DIR): real.append(path)
                case Int32(DT_LNK), Int32(DT_UNKNOWN): classify(path, isLink: type == Int32(DT_LNK), files: &files, real: &real, linked: &linked)
                default:
                    notes.append(Note(path: path, kind: .notARegularFile, reason: "\(Self.typeName(type)), not a regular file: skipped"))
                }
            }
            return true
        }

        /// Sorts out an entry whose type readdir did not tell, or a link, by stat.
        mutating func classify(_ path: String, isLink: Bool, files: inout [String], real: inout [String], linked: inout [String]) {
            var isLink = isLink
            var st = stat()
            if !isLink {
                guard lstat(path, &st) == 0 else { return }   // gone since readdir: nothing to say
                isLink = (st.st_mode & S_IFMT) == S_IFLNK
            }
            if isLink {
                guard stat(path, &st) == 0 else {
                    notes.append(Note(path: path, kind: .brokenLink, reason: "a link to nothing (\(String(cString: strerror(errno)))): skipped"))
                    return
                }
            }
            switch st.st_mode & S_IFMT {
            case S_IFREG: files.append(path)
            case S_IFDIR: if isLink { linked.append(path) } else { real.append(path) }
            default:
                notes.append(Note(path: path, kind: .notARegularFile, reason: "\(FolderScan.kindName(st.st_mode)), not a regular file: skipped"))
            }
        }

        static func typeName(_ type: Int32) -> String {
            switch type {
            case Int32(DT_FIFO): return "a FIFO"
            case Int32(DT_SOCK): return "a socket"
            case Int32(DT_CHR): return "a character device"
            case Int32(DT_BLK): return "a block device"
            default: return "a special file"
            }
        }

        /// The folders that hold `root` (not `root` itself), up to `/`.
        static func ancestors(of root: String) -> Set<FolderID> {
            guard let resolved = realpath(root, nil) else { return [] }
            var path = String(cString: resolved)
            free(resolved)
            var found: Set<FolderID> = []
            while path != "/" && !path.isEmpty {
                path = (path as NSString).deletingLastPathComponent
                var st = stat()
                if stat(path.isEmpty ? "/" : path, &st) == 0 { found.insert(FolderID(st)) }
            }
            return found
        }
    }
}
