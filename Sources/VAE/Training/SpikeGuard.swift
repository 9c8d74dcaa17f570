// SpikeGuard: skips the update of a step whose gradient norm is many times the usual (--skip-spikes), as VDVAE skips them.
import Foundation

/// Long colour runs at lr 1e-3 went well for thousands of steps, then blew up within a step or
/// two: one gradient hundreds to 10¹⁰ times the usual norm, whose Adam update sent the posterior
/// heads where the KL overflows. Clipping does not stop it (Adam's update hardly depends on the
/// gradient's scale); not taking that step does (Child 2021, "Very Deep VAEs", skips updates above
/// a gradient-norm threshold). The threshold here follows the run: `factor` times a running
/// geometric mean of the applied steps' norms, so one setting fits every model and data set.
public struct SpikeGuard: Sendable, Equatable {
    /// A step is skipped when its norm exceeds factor × the usual norm.
    public var factor: Double
    /// Applied steps the usual norm is measured over before any step is judged: the first steps'
    /// norms fall fast, and are no measure of the later ones.
    public var settleSteps = SpikeGuard.defaultSettleSteps
    public static let defaultSettleSteps = 100
    /// Weight of each new applied step in the running mean of log norms (a horizon of about 100 steps).
    static let rate = 0.01

    public init(factor: Double) { self.factor = factor }

    /// The norm above which the next step is skipped, or nil while the guard is still measuring.
    public func limit(_ state: SpikeGuard.State) -> Double? {
        guard state.trackedSteps >= settleSteps, let usual = state.usualNorm else { return nil }
        return factor * usual
    }

    /// Counts an applied step's norm into the running mean (a skipped step's never is: the
    /// blow-up must not raise the bar it is judged by).
    public static func record(_ norm: Double, into state: inout SpikeGuard.State) {
        guard norm > 0, norm.isFinite else { return }
        let x = Foundation.log(norm)
        state.logUsualNorm = state.logUsualNorm.map { $0 + rate * (x - $0) } ?? x
        state.trackedSteps += 1
    }

    /// What the guard has measured: part of the training state, so that --resume judges the same.
    public struct State: Sendable, Equatable {
        /// The running mean of the applied steps' log norms; nil before the first.
        public var logUsualNorm: Double?
        public var trackedSteps = 0
        public var usualNorm: Double? { logUsualNorm.map { Foundation.exp($0) } }

        public init() {}

        static let keys = (log: "log_usual_gradient_norm", steps: "tracked_gradient_steps")

        /// Decimal text that reads back to the same Double.
        var metadata: [String: String] {
            guard let logUsualNorm else { return [:] }
            return [Self.keys.log: "\(logUsualNorm)", Self.keys.steps: "\(trackedSteps)"]
        }

        /// The state in `metadata`; empty when absent (states saved before the guard); nil when damaged.
        init?(metadata: [String: String]) {
            guard let text = metadata[Self.keys.log] else { return }
            guard let log = Double(text), log.isFinite, let steps = metadata[Self.keys.steps].flatMap(Int.init), steps >= 0 else {
                return nil
            }
            (logUsualNorm, trackedSteps) = (log, steps)
        }
    }
}
