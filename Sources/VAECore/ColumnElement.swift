// ColumnElement: what a column matrix holds — Float for fp32 products, bf16 bits for bf16 ones — and the operands a layer rounds once.

import CBF16

/// An element im2col can write: it copies or rounds each input value as it builds the columns,
/// so a bf16 product reads columns made once in bf16 instead of f32 columns rounded on every call.
protocol ColumnElement: AdditiveArithmetic {
    /// `x` as a column entry.
    static func column(_ x: Float) -> Self
    /// dst[i] = column(src[i]) for i < count.
    static func columns(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutablePointer<Self>)
    /// A plane of `rows` rows of `width` (even) split into its even and odd pixels: row r's pixel
    /// 2i to even[r % 2][(r / 2)·width/2 + i], pixel 2i + 1 to odd[r % 2] alike.
    static func split(_ src: UnsafePointer<Float>, width: Int, rows: Int, even: (UnsafeMutablePointer<Self>, UnsafeMutablePointer<Self>),
                      odd: (UnsafeMutablePointer<Self>, UnsafeMutablePointer<Self>))
}

extension Float: ColumnElement {
    @inline(__always) static func column(_ x: Float) -> Float { x }

    @inline(__always)
    static func columns(_ src: UnsafePointer<Float>, count: Int, into dst: FloatPointer) {
        dst.update(from: src, count: count)
    }

    @inline(__always)
    static func split(_ src: UnsafePointer<Float>, width: Int, rows: Int, even: (FloatPointer, FloatPointer),
                      odd: (FloatPointer, FloatPointer)) {
        let pairs = width / 2
        for r in 0..<rows {
            let line = src + r * width, at = (r >> 1) * pairs
            let e = (r & 1 == 0 ? even.0 : even.1) + at, o = (r & 1 == 0 ? odd.0 : odd.1) + at
            for i in 0..<pairs {
                e[i] = line[2 * i]
                o[i] = line[2 * i + 1]
            }
        }
    }
}

/// UInt16 entries are bf16 bits, rounded as BF16.bits rounds (nearest even, NaN → 0x7fc0).
extension UInt16: ColumnElement {
    @inline(__always) static func column(_ x: Float) -> UInt16 { BF16.inlineBits(x) }

    @inline(__always)
    static func columns(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutablePointer<UInt16>) {
        for i in 0..<count { dst[i] = BF16.inlineBits(src[i]) }
    }

    @inline(__always)
    static func split(_ src: UnsafePointer<Float>, width: Int, rows: Int,
                      even: (UnsafeMutablePointer<UInt16>, UnsafeMutablePointer<UInt16>),
                      odd: (UnsafeMutablePointer<UInt16>, UnsafeMutablePointer<UInt16>)) {
        vae_bf16_split_rows(src, width, rows, even.0, odd.0, even.1, odd.1)
    }
}

/// `body` on im2col of the chunk, built in `col`: f32, or, when `bf16`, bf16 in col's first
/// half (the operand the products then read without rounding it again).
func withColumns(_ x: UnsafePointer<Float>, batch: Int, first: Int, count: Int, shape: ConvShape, in col: FloatPointer,
                 bf16: Bool, profiler: Profiler, _ body: (GEMMOperand) -> Void) {
    guard bf16 else {
        profiler.time(.im2col) { im2col(x, batch: batch, first: first, count: count, shape: shape, into: col) }
        return body(.f32(col))
    }
    let entries = shape.columnRows * count * shape.outHeight * shape.outWidth
    col.withMemoryRebound(to: UInt16.self, capacity: entries) { half in
        profiler.time(.im2col) { im2colBF16(x, batch: batch, first: first, count: count, shape: shape, into: half) }
        body(.bf16(half))
    }
}

