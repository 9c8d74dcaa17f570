// Parallel: runs a fixed set of work items on up to N threads; results never depend on N.
import Dispatch
import VAECore

public enum Parallel {
    /// Calls body(i) for i in 0..<items, on at most `threads` threads at once. Which thread runs
    /// which item does not matter for the result, because the items are fixed by the caller.
    public static func run(items: Int, threads: Int, _ body: (Int) -> Void) {
        // Pool threads start with the default floating-point mode: set flush-to-zero on each.
        FloatEnvironment.flushDenormals()
        if threads <= 1 || items <= 1 {
            for i in 0..<items { body(i) }
            return
        }
        let lanes = Swift.min(threads, items)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            FloatEnvironment.flushDenormals()
            var i = lane
            while i < items {
                body(i)
                i += lanes
            }
        }
    }

    /// The `part`-th of `parts` near-equal pieces of 0..<count.
    public static func slice(_ count: Int, part: Int, of parts: Int) -> Range<Int> {
        (count * part / parts)..<(count * (part + 1) / parts)
    }
}
