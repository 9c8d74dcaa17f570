// StopRequest: Ctrl-C, kill (SIGTERM) or a closed terminal (SIGHUP) ask the training loop to stop after the current step, instead of killing the process.
import Foundation

/// The signal that asked to stop (0: none yet); set from the handler, read after every step.
nonisolated(unsafe) private var stopSignal: sig_atomic_t = 0

public enum StopRequest {
    /// The signals that stop a run with a checkpoint: Ctrl-C, `kill`'s default (and a batch
    /// system's time-out), and the terminal closing. A second one while the checkpoint is
    /// written changes nothing; SIGKILL cannot be caught (a cut-short checkpoint is repaired on resume).
    public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// The signal that stopped the last run of `catchingInterrupt`, or nil.
    public static var received: Int32? { stopSignal == 0 ? nil : Int32(stopSignal) }

    /// Runs `body` with the stop signals caught: `body` gets a function that says whether one
    /// came since. The previous handlers are restored afterwards.
    public static func catchingInterrupt<T>(_ body: (_ requested: @escaping () -> Bool) throws -> T) rethrows -> T {
        stopSignal = 0
        let previous = signals.map { signal($0) { number in stopSignal = sig_atomic_t(number) } }
        defer { for (number, handler) in zip(signals, previous) { signal(number, handler) } }
        // A parent may have started us with them blocked (Foundation's Process blocks SIGINT); unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        for number in signals { sigaddset(&set, number) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        return try body { stopSignal != 0 }
    }
}
