// TestSupport: tolerant comparisons and small helpers shared by the test targets.
import Foundation
import Testing

/// Whether |a − b| ≤ absolute + relative·max(|a|, |b|).
public func isClose(_ a: Double, _ b: Double, relative: Double = 1e-5, absolute: Double = 1e-6) -> Bool {
    abs(a - b) <= absolute + relative * max(abs(a), abs(b))
}

/// Records an issue naming the first few elements that differ beyond the tolerance.
public func assertClose(_ a: [Float], _ b: [Float], relative: Double = 1e-5, absolute: Double = 1e-6,
                        _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    guard a.count == b.count else {
        Issue.record("\(what): sizes differ, \(a.count) vs \(b.count)", sourceLocation: sourceLocation)
        return
    }
    var bad: [String] = []
    for i in 0..<a.count where !isClose(Double(a[i]), Double(b[i]), relative: relative, absolute: absolute) {
        if bad.count < 5 { bad.append("[\(i)] \(a[i]) vs \(b[i])") }
        else { break }
    }
    if !bad.isEmpty { Issue.record("\(what): \(bad.joined(separator: ", "))", sourceLocation: sourceLocation) }
}

public func assertClose(_ a: Double, _ b: Double, relative: Double = 1e-5, absolute: Double = 1e-6,
                        _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    if !isClose(a, b, relative: relative, absolute: absolute) {
        Issue.record("\(what): \(a) vs \(b)", sourceLocation: sourceLocation)
    }
}

/// A small deterministic generator for test data (SplitMix64), independent of the code under test.
public struct TestRandom {
    var state: UInt64
    public init(_ seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    public mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    public mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<n).map { _ in float(lo, hi) }
    }
}

/// A fresh empty folder under the system's temporary directory.
public func temporaryFolder(_ name: String = "swiftvae-test") -> String {
    let path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The finite difference of `value` at `x` closest to `exact`, among central and one-sided ones
/// with steps 10⁻² and 3·10⁻³ (`centre` is value(x)): a ReLU kink within a step spoils the central
/// difference but not the one-sided one on the other side; a wrong gradient disagrees with all.
public func closestFiniteDifference(at x: Float, centre: Double, exact: Double, _ value: (Float) -> Double) -> Double {
    var numerics: [Double] = []
    for h in [Float(1e-2), 3e-3] {
        let plus = value(x + h), minus = value(x - h), step = Double(h)
        numerics += [(plus - minus) / (2 * step), (plus - centre) / step, (centre - minus) / step]
    }
    return numerics.min { abs($0 - exact) < abs($1 - exact) }!
}
