// StopRequest: Ctrl-C asks the training loop to stop after the current step, instead of killing the process.
import Foundation

/// Set from the SIGINT handler; read after every step.
nonisolated(unsafe) private var interruptRequested: sig_atomic_t = 0

public enum StopRequest {
    /// Runs `body` with SIGINT caught: `body` gets a function that says whether Ctrl-C was
    /// pressed since. The previous handler is restored afterwards.
    public static func catchingInterrupt<T>(_ body: (_ requested: @escaping () -> Bool) throws -> T) rethrows -> T {
        interruptRequested = 0
        let previous = signal(SIGINT) { _ in interruptRequested = 1 }
        defer { signal(SIGINT, previous) }
        // A parent may have started us with SIGINT blocked (Foundation's Process does); unblock it.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        return try body { interruptRequested != 0 }
    }
}
