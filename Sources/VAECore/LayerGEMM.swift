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
        // Inside withPerCallRounding (saved 2), bf16 stays per-call so tests can run whole steps that way.
        let bf16 = saved == UnsafeMutableRawPointer(bitPattern: 2) ? UnsafeRawPointer(bitPattern: 2) : UnsafeRawPointer(bitPattern: 1)
        pthread_setspecific(key, precision == .bf16 ? bf16 : nil)
        defer { pthread_setspecific(key, saved) }
        return try body()
    }

    /// Runs `body` in bf16 as before operands were rounded once: every product rounds its own f32
    /// inputs. Tests compare the two, which must agree bit for bit.
    static func withPerCallRounding<T>(_ body: () throws -> T) rethrows -> T {
        let saved = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 2))
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

/// The same product with operands that may already be bf16 (a column matrix or dY rounded once
/// and used twice). Only bf16 runs hand it bf16 operands; should oneDNN refuse the product, they
/// are widened back to f32 for sgemm (the rounded values, summed in f32).
public func layerGEMM(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      a: GEMMOperand, lda: Int? = nil, b: GEMMOperand, ldb: Int? = nil,
                      beta: Float = 0, c: FloatPointer, ldc: Int? = nil) {
    let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
    if LayerGEMM.recording {
        LayerGEMM.record(LayerGEMM.Shape(transA: transA, transB: transB, m: m, n: n, k: k,
                                         lda: lda, ldb: ldb, ldc: ldc, beta: beta))
    }
    if LayerGEMM.precision == .bf16 {
        do {
            return try bf16GEMM(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                beta: beta, c: c, ldc: ldc)
        } catch {
            LayerGEMM.fellBack(error)
        }
    }
    // op(A) is stored as (transA ? k : m) rows of lda, op(B) as (transB ? n : k) rows of ldb.
    withF32(a, rows: transA ? k : m, cols: transA ? m : k, ld: lda) { a in
        withF32(b, rows: transB ? n : k, cols: transB ? k : n, ld: ldb) { b in
            gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                 c: c, ldc: ldc)
        }
    }
}

/// `body` on the operand (`rows` rows of `cols`, `ld` apart) as f32: itself, or a widened copy.
private func withF32(_ x: GEMMOperand, rows: Int, cols: Int, ld: Int, _ body: (UnsafePointer<Float>) -> Void) {
    switch x {
    case .f32(let p): body(p)
    case .bf16(let p):
        let wide = (0..<Swift.max(1, (rows - 1) * ld + cols)).map { $0 % ld < cols ? BF16.float(p[$0]) : 0 }
        wide.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

extension LayerGEMM {
    /// Whether this thread's layers build their column matrices (and round dY) straight in bf16:
    /// when its products are bf16 and this build can run them.
    public static var roundsOperands: Bool { pthread_getspecific(key) == UnsafeMutableRawPointer(bitPattern: 1) && BF16.isAvailable }
}
