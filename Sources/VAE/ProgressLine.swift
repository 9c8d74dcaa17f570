// ProgressLine: a redrawn status line on a terminal, or occasional plain lines in a log.
import Foundation

public final class ProgressLine: @unchecked Sendable {
    public let isTerminal: Bool
    private var lastDraw = 0.0
    private var drawn = false
    private let lock = NSLock()

    /// Draws nothing at all (the ranks of an mpirun job other than rank 0).
    public let silent: Bool

    public init(terminal: Bool = isatty(STDERR_FILENO) == 1, silent: Bool = false) { (isTerminal, self.silent) = (terminal, silent) }

    /// On a terminal, redraws the line (at most 10 times a second unless `force`); otherwise
    /// prints it as a line of its own only when `force`.
    public func update(_ text: String, force: Bool = false) {
        guard !silent else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date().timeIntervalSince1970
        if isTerminal {
            guard force || now - lastDraw >= 0.1 else { return }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
            drawn = true
        } else if force {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
        lastDraw = now
    }

    /// Clears a drawn line so that ordinary output can follow.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        if isTerminal && drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
    }

    /// "1:05" or "1:02:03".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }

    public static func bar(_ done: Int, _ total: Int, width: Int = 24) -> String {
        let filled = total > 0 ? width * done / total : width
        return "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "]"
    }
}
