// Random: Philox4x32-10, a counter-based generator: any number is computed from (seed, stream, index)
// alone, so results do not depend on thread count or on the order work is done in.
import Foundation

public struct Philox: Sendable, Equatable {
    public let key: (UInt32, UInt32)

    public init(seed: UInt64) { key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)) }

    public static func == (a: Philox, b: Philox) -> Bool { a.key == b.key }

    /// Four random words for a 128-bit counter (Salmon et al., SC'11; the same rounds as Random123).
    @inline(__always)
    public func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var (x0, x1, x2, x3) = (c0, c1, c2, c3)
        var (k0, k1) = key
        for round in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(x0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(x2)
            (x0, x1, x2, x3) = (UInt32(p1 >> 32) ^ x1 ^ k0, UInt32(truncatingIfNeeded: p1),
                                UInt32(p0 >> 32) ^ x3 ^ k1, UInt32(truncatingIfNeeded: p0))
            if round < 9 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
        }
        return (x0, x1, x2, x3)
    }
}

/// What a stream of random numbers is for; each purpose (and each epoch or step) has its own.
public enum RandomPurpose: UInt64, Sendable {
    case initialization = 1, noise = 2, shuffle = 3, split = 4, sampling = 5, evaluation = 6, flip = 7, prior = 8
}

/// A sequential reader over one Philox stream: (seed, purpose, detail) pick the stream,
/// `position` counts 32-bit words drawn. Its whole state is those numbers, so it checkpoints exactly.
public struct RandomStream: Sendable {
    public let philox: Philox
    public let stream: UInt64
    public private(set) var position: UInt64

    public init(seed: UInt64, purpose: RandomPurpose, detail: UInt64 = 0, position: UInt64 = 0) {
        philox = Philox(seed: seed)
        stream = purpose.rawValue << 48 ^ detail
        self.position = position
    }

    /// The word at `index` of this stream, without moving.
    @inline(__always)
    public func word(at index: UInt64) -> UInt32 {
        let b = index >> 2
        let r = philox.block(UInt32(truncatingIfNeeded: b), UInt32(truncatingIfNeeded: b >> 32),
                             UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32))
        switch index & 3 {
        case 0: return r.0
        case 1: return r.1
        case 2: return r.2
        default: return r.3
        }
    }

    public mutating func nextWord() -> UInt32 {
        defer { position += 1 }
        return word(at: position)
    }

    /// Uniform in [0, 1), 24 random bits.
    public mutating func uniform() -> Float { Float(nextWord() >> 8) * 0x1p-24 }

    /// Uniform integer in 0..<n (Lemire's multiply-shift; bias under 2⁻³² · n, irrelevant here).
    public mutating func integer(below n: Int) -> Int {
        precondition(n > 0 && n <= Int(UInt32.max))
        return Int((UInt64(nextWord()) &* UInt64(n)) >> 32)
    }

    /// Standard normal number `index` of this stream (Box–Muller on the words 2·⌊index/2⌋ and +1):
    /// any element can be computed on its own, by any thread.
    @inline(__always)
    public func normal(at index: UInt64) -> Float {
        let pair = index & ~1
        let u1 = (Float(word(at: pair) >> 8) + 1) * 0x1p-24           // (0, 1]: log is finite
        let u2 = Float(word(at: pair + 1) >> 8) * 0x1p-24
        let r = (-2 * logf(u1)).squareRoot()
        let theta = 2 * Float.pi * u2
        return index & 1 == 0 ? r * cosf(theta) : r * sinf(theta)
    }

    /// Fills `out` with normals starting at stream element `start`.
    public func fillNormal(_ out: FloatPointer, count: Int, start: UInt64 = 0) {
        for i in 0..<count { out[i] = normal(at: start + UInt64(i)) }
    }

    /// Fills `out` with uniforms in [low, high), word `start + i` for element i.
    public func fillUniform(_ out: FloatPointer, count: Int, low: Float, high: Float, start: UInt64 = 0) {
        for i in 0..<count { out[i] = low + (high - low) * (Float(word(at: start + UInt64(i)) >> 8) * 0x1p-24) }
    }

    /// A random permutation of 0..<n (Fisher–Yates), drawing from this stream.
    public mutating func permutation(_ n: Int) -> [Int] {
        var order = Array(0..<n)
        if n < 2 { return order }
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, integer(below: i + 1)) }
        return order
    }
}
