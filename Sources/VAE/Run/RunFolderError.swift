// RunFolderError: why a run folder cannot be used, in one line that names the folder.

public enum RunFolderError: Error, CustomStringConvertible, Equatable {
    /// Another process holds the folder's lock (a `vae train` writing to it).
    case locked(folder: String)
    /// A new run's --out holds files that are not a run's.
    case notEmpty(folder: String, examples: [String], total: Int)
    /// A new run's --out already holds a run; `trained` when it has a checkpoint.
    case holdsRun(folder: String, trained: Bool)
    /// --resume names a folder without config.json.
    case notARun(folder: String)
    case cannotOpen(folder: String, reason: String)

    public var description: String {
        switch self {
        case let .locked(folder):
            return "\(folder): another 'vae train' is using this run folder (it is locked); wait for it to finish, or choose another folder"
        case let .notEmpty(folder, examples, total):
            let more = total > examples.count ? ", … \(total - examples.count) more" : ""
            return "\(folder): the folder is not empty and is not a run folder (it holds \(examples.joined(separator: ", "))\(more)); "
                + "choose another --out, or pass --force to write into it"
        case let .holdsRun(folder, trained):
            return "\(folder) already holds \(trained ? "a trained model" : "a run that has not saved a checkpoint yet"): "
                + "continue it with --resume \(folder), or choose another --out (--force starts over in it)"
        case let .notARun(folder):
            return "\(folder): no run to resume here (config.json is missing)"
        case let .cannotOpen(folder, reason):
            return "\(folder): cannot open the run folder (\(reason))"
        }
    }
}
