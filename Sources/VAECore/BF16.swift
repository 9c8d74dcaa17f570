// BF16: bfloat16 rounding and the bf16 GEMM (bf16 products, f32 sums) through oneDNN's matmul.
import CBF16

public enum BF16 {
    /// `x` rounded to bf16 (nearest, ties to even; every NaN becomes 0x7fc0, as in PyTorch).
    @inline(__always)
    public static func bits(_ x: Float) -> UInt16 { vae_bf16_from_float(x) }

    @inline(__always)
    public static func float(_ bits: UInt16) -> Float { vae_float_from_bf16(bits) }

    /// `x` as the bf16 product sees it.
    @inline(__always)
    public static func rounded(_ x: Float) -> Float { float(bits(x)) }

    /// dst[r·cols + c] = bits(src[r·ld + c]): a strided f32 matrix as a compact bf16 one.
    public static func convert(_ src: UnsafePointer<Float>, ld: Int, rows: Int, cols: Int,
                               into dst: UnsafeMutablePointer<UInt16>) {
        vae_bf16_convert(src, ld, rows, cols, dst)
    }

    /// Whether this build has oneDNN, which does the bf16 products (Linux with libdnnl-dev).
    public static var isAvailable: Bool { vae_bf16_gemm_available() != 0 }

    /// The kernel oneDNN picked for the last product it set up (e.g. "brg:avx512_core_bf16").
    public static var kernelName: String { String(cString: vae_bf16_gemm_kernel()) }
}

/// The same product with each of A and B in f32 (rounded first, into per-thread scratch) or
/// already in bf16: an operand rounded once can then serve several products.
public func bf16GEMM(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: GEMMOperand, lda: Int? = nil, b: GEMMOperand, ldb: Int? = nil,
                     beta: Float = 0, c: FloatPointer, ldc: Int? = nil, threads: Int = BLAS.threads) throws {
    let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
    let status = vae_bf16_gemm_mixed(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.f32, a.bf16, lda,
                                     b.f32, b.bf16, ldb, beta, c, ldc, Int32(threads))
    if status != 0 { throw BF16Error(status: status, shape: bf16Shape(transA, transB, m, n, k)) }
}

/// A matrix operand of a product: f32, or bf16 bits (already rounded).
public enum GEMMOperand {
    case f32(UnsafePointer<Float>)
    case bf16(UnsafePointer<UInt16>)

    var f32: UnsafePointer<Float>? { if case .f32(let p) = self { p } else { nil } }
    var bf16: UnsafePointer<UInt16>? { if case .bf16(let p) = self { p } else { nil } }
}

extension BF16 {
    /// Per-thread bf16 scratch of at least `count` values in `slot` (0 ..< 4), kept across calls:
    /// e.g. dY rounded once for both of a layer's backward products. Slot 0 is dY's.
    static func buffer(slot: Int, count: Int) -> UnsafeMutablePointer<UInt16> {
        guard let p = vae_bf16_buffer(Int32(slot), count) else { fatalError("out of memory for \(count) bf16 values") }
        return p
    }

    /// The same rounding as `bits`, written in Swift so that loops over it inline and vectorise.
    @inline(__always)
    static func inlineBits(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        let rounded = UInt16(truncatingIfNeeded: (u &+ 0x7fff &+ ((u >> 16) & 1)) >> 16)
        return u & 0x7fff_ffff > 0x7f80_0000 ? 0x7fc0 : rounded
    }

    /// inlineBits of 16 values at once.
    @inline(__always)
    static func inlineBits(_ x: SIMD16<Float>) -> SIMD16<UInt16> {
        let u = unsafeBitCast(x, to: SIMD16<UInt32>.self)
        let rounded = (u &+ 0x7fff &+ ((u &>> 16) & 1)) &>> 16
        // NaN found by a float compare: the integer one compiled to a loop over the lanes.
        return SIMD16<UInt16>(truncatingIfNeeded: rounded.replacing(with: 0x7fc0, where: x .!= x))
    }
}

/// A bf16 product oneDNN could not set up or run.
public struct BF16Error: Error, CustomStringConvertible {
    public var status: Int32
    public var shape: String
    public var description: String {
        status == -1 ? "bf16 GEMM: this build has no oneDNN (install libdnnl-dev and rebuild)"
                     : "bf16 GEMM \(shape): oneDNN failed with status \(status)"
    }
}

/// C[M×N] = alpha · op(A) · op(B) + beta · C, all row-major as `gemm`, with A and B rounded to
/// bf16 (into per-thread scratch) and the products summed in f32. beta 0 never reads C.
/// `threads`: oneDNN's team from this thread (BLAS's setting, so 1 inside shards, as sgemm).
public func bf16GEMM(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                     b: UnsafePointer<Float>, ldb: Int? = nil,
                     beta: Float = 0, c: FloatPointer, ldc: Int? = nil, threads: Int = BLAS.threads) throws {
    let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
    let status = vae_bf16_gemm_f32(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                   Int32(threads))
    if status != 0 { throw BF16Error(status: status, shape: bf16Shape(transA, transB, m, n, k)) }
}

/// The same product with A and B already in bf16 (no rounding pass).
public func bf16GEMM(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<UInt16>, lda: Int? = nil,
                     b: UnsafePointer<UInt16>, ldb: Int? = nil,
                     beta: Float = 0, c: FloatPointer, ldc: Int? = nil, threads: Int = BLAS.threads) throws {
    let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
    let status = vae_bf16_gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                               Int32(threads))
    if status != 0 { throw BF16Error(status: status, shape: bf16Shape(transA, transB, m, n, k)) }
}

private func bf16Shape(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int) -> String {
    "\(transA ? "Aᵀ" : "A")·\(transB ? "Bᵀ" : "B") \(m)×\(n)×\(k)"
}
