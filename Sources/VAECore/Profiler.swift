// Profiler: optional wall-clock totals per primitive and per layer, for `vae bench --profile`.
import Foundation

public enum Primitive: String, CaseIterable, Sendable {
    case im2col, gemm, col2im, elementwise, loss, optimizer
}

/// Accumulates seconds per primitive and per layer name. One per thread; disabled it costs a branch.
public final class Profiler: @unchecked Sendable {
    public var enabled: Bool
    public private(set) var primitives: [Primitive: Double] = [:]
    public private(set) var layers: [String: Double] = [:]
    public private(set) var layerOrder: [String] = []

    public init(enabled: Bool = false) { self.enabled = enabled }

    /// Adds the seconds `body` takes to `primitive`, times `threads` when the body keeps that many
    /// threads busy itself (a parallel region timed from one thread), so that every figure is in
    /// thread-seconds.
    @inline(__always)
    public func time<T>(_ primitive: Primitive, threads: Int = 1, _ body: () -> T) -> T {
        guard enabled else { return body() }
        let start = Profiler.now()
        let result = body()
        primitives[primitive, default: 0] += (Profiler.now() - start) * Double(threads)
        return result
    }

    @inline(__always)
    public func time<T>(layer: String, _ body: () -> T) -> T {
        guard enabled else { return body() }
        let start = Profiler.now()
        let result = body()
        if layers[layer] == nil { layerOrder.append(layer) }
        layers[layer, default: 0] += Profiler.now() - start
        return result
    }

    public func add(_ other: Profiler) {
        for (k, v) in other.primitives { primitives[k, default: 0] += v }
        for name in other.layerOrder where layers[name] == nil { layerOrder.append(name) }
        for (k, v) in other.layers { layers[k, default: 0] += v }
    }

    public func reset() {
        primitives = [:]
        layers = [:]
        layerOrder = []
    }

    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
