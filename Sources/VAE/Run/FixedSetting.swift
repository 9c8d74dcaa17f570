// FixedSetting: a flag given to a resumed run that must agree with the saved run, and how to say when it does not.

public struct FixedSetting {
    public let flag: String
    private let difference: (RunConfig) -> (saved: String, given: String)?

    /// `flag` (the flags as typed, e.g. "--lr" or "--preset fmnist --hidden 128") gave `given`;
    /// the saved run holds its value at `path`. `show` writes a value as the flag takes it.
    public init<Value: Equatable>(_ flag: String, given: Value, saved path: KeyPath<RunConfig, Value>,
                                  show: @escaping (Value) -> String = { "\($0)" }) {
        self.flag = flag
        difference = { config in
            let saved = config[keyPath: path]
            return saved == given ? nil : (show(saved), show(given))
        }
    }

    /// "--lr cannot change when resuming (saved 0.001, given 0.01)", or nil when the values agree.
    public func conflict(with config: RunConfig) -> String? {
        difference(config).map { "\(flag) cannot change when resuming (saved \($0.saved), given \($0.given))" }
    }
}

/// Flags of a resumed run that disagree with the run's saved settings, all named in one line.
public struct ResumeConflict: Error, CustomStringConvertible {
    public var folder: String
    public var conflicts: [String]

    public var description: String {
        "\(folder): " + conflicts.joined(separator: "; ") + ". A resumed run keeps its saved settings: drop these flags, or start a new run"
    }
}
