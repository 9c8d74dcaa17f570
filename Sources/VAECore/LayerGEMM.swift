// LayerGEMM: the layers' products in the chosen precision, and a count of their shapes for `vae bench --gemm`.
import Foundation

public enum LayerGEMM {
    /// .fp32 (OpenBLAS) or .bf16 (oneDNN, bf16 inputs and f32 sums): the precision of the layer
    /// products this thread runs. Per thread, so that one model's bf16 run (a Trainer sets it
    /// on each shard's thread) never changes another's products running at the same time.
    public static var precision: Precision {
        pthread_getspecific(key) == nil ? .fp32 : .bf16
    }

    /// Runs `body` with this thread's products in `precision` (.fp32 or .bf16), then restores it.
    @inline(__always)
    public static func with<T>(_ precision: Precision, _ body: () throws -> T) rethrows -> T {
        let saved = pthread_getspecific(key)
        pthread_setspecific(key, precision == .bf16 ? UnsafeRawPointer(bitPattern: 1) : nil)
        defer { pthread_setspecific(key, saved) }
        return try body()
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// One product as a layer calls it.
    public struct Shape: Hashable, Sendable {
        public var transA, transB: Bool
        public var m, n, k, lda, ldb, ldc: Int
        public var beta: Float
        public var flop: Double { 2 * Double(m) * Double(n) * Double(k) }
    }

    /// While on, every product's shape is counted in `shapes` (under a lock: shards run at once).
    nonisolated(unsafe) public static var recording = false
    nonisolated(unsafe) public private(set) static var shapes: [Shape: Int] = [:]
    nonisolated(unsafe) private static var warned = false
    private static let lock = NSLock()

    public static func clearShapes() { lock.withLock { shapes = [:] } }

    static func record(_ shape: Shape) { lock.withLock { shapes[shape, default: 0] += 1 } }

    /// A bf16 product that oneDNN could not run is done in fp32 instead, said once on stderr:
    /// a run is never lost to it, and a benchmark shows it.
    static func fellBack(_ error: Error) {
        let first = lock.withLock { () -> Bool in
            defer { warned = true }
            return !warned
        }
        if first { FileHandle.standardError.write(Data("warning: \(error); that product runs in fp32\n".utf8)) }
    }
}

/// `gemm`'s product in LayerGEMM.precision: what Conv2D, ConvTranspose2D and Linear call.
@inline(__always)
public func layerGEMM(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int? = nil, b: UnsafePointer<Float>, ldb: Int? = nil,
                      beta: Float = 0, c: FloatPointer, ldc: Int? = nil) {
    if LayerGEMM.recording {
        LayerGEMM.record(LayerGEMM.Shape(transA: transA, transB: transB, m: m, n: n, k: k,
                                         lda: lda ?? (transA ? m : k), ldb: ldb ?? (transB ? k : n),
                                         ldc: ldc ?? n, beta: beta))
    }
    if LayerGEMM.precision == .bf16 {
        do {
            return try bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                beta: beta, c: c, ldc: ldc)
        } catch {
            LayerGEMM.fellBack(error)
        }
    }
    gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}
