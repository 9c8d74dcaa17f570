// BF16WeightCache: each weight tensor rounded to bf16 once per step (on each thread, or once for all), not once per product.
import Foundation

/// Why: a convolution's weights go into every chunk's forward product and every chunk's dX
/// product, and rounding them there each time cost as much as rounding the columns for the wide
/// layers (a 256×2048 weight against 2048×256 columns). Within a scope the caller promises the
/// parameters stay fixed (one shard's forward and backward of a step), so the first product that
/// reads a weight rounds it into this thread's cache and the others read that. Each thread has
/// its own cache: shards running at once share no buffer, so there is nothing to race on.
public enum BF16WeightCache {
    /// Runs `body` with this thread's weight rounding cached. The parameters must not change
    /// while it runs, nor their memory be freed and reused for other weights of the same length
    /// (the cache knows a tensor by address and length); a scope's roundings are forgotten when
    /// the next scope on the thread begins. With `shared`, the weights inside that buffer are read
    /// from its rounded copy and not rounded on this thread at all.
    public static func whileWeightsFixed<T>(_ shared: Rounded? = nil, _ body: () throws -> T) rethrows -> T {
        let cache = Cache.current
        let outer = cache.shared
        cache.begin()
        if let shared { cache.shared = shared }
        defer {
            cache.depth -= 1
            cache.shared = outer
        }
        return try body()
    }

    /// A whole parameter buffer already rounded (the Trainer rounds it once for all its shards):
    /// weights inside it are read from `bits` instead of being rounded again on each thread.
    public struct Rounded: @unchecked Sendable {
        public var base: UnsafePointer<Float>
        public var count: Int
        public var bits: UnsafePointer<UInt16>
        public init(base: UnsafePointer<Float>, count: Int, bits: UnsafePointer<UInt16>) {
            (self.base, self.count, self.bits) = (base, count, bits)
        }
    }

    /// A weight tensor of `count` floats as a product's operand: its bf16 copy when this thread's
    /// products round operands once and a scope is open, else the f32 tensor itself.
    @inline(__always)
    static func operand(_ weight: UnsafePointer<Float>, count: Int) -> GEMMOperand {
        guard LayerGEMM.roundsOperands, let cache = Cache.ifOpen else { return .f32(weight) }
        return .bf16(cache.rounded(weight, count: count))
    }

    final class Cache {
        /// A tensor is its address and length (a prefix of a tensor would be a different entry).
        struct Key: Hashable {
            var weight: UnsafePointer<Float>
            var count: Int
        }
        struct Entry {
            var buffer: UnsafeMutablePointer<UInt16>
            /// The scope that last rounded (or read) it; stale ones are rounded again.
            var scope: Int
        }
        var entries: [Key: Entry] = [:]
        var depth = 0, scope = 0
        /// The open scope's rounded parameter buffer, if its caller has one.
        var shared: Rounded?

        func begin() {
            depth += 1
            guard depth == 1 else { return }
            // Weights the last scope did not read belong to a model no longer trained here: free them.
            for (key, entry) in entries where entry.scope != scope {
                entry.buffer.deallocate()
                entries[key] = nil
            }
            scope += 1
        }

        func rounded(_ weight: UnsafePointer<Float>, count: Int) -> UnsafePointer<UInt16> {
            if let shared, weight >= shared.base, weight + count <= shared.base + shared.count {
                return shared.bits + (weight - shared.base)
            }
            let key = Key(weight: weight, count: count)
            if let entry = entries[key], entry.scope == scope { return UnsafePointer(entry.buffer) }
            // A stale entry keeps its buffer: the same model's next step rounds into it again.
            let buffer = entries[key]?.buffer ?? .allocate(capacity: count)
            BF16.convert(weight, ld: count, rows: 1, cols: count, into: buffer)
            entries[key] = Entry(buffer: buffer, scope: scope)
            return UnsafePointer(buffer)
        }

        deinit { for entry in entries.values { entry.buffer.deallocate() } }

        static var current: Cache {
            if let p = pthread_getspecific(key) { return Unmanaged<Cache>.fromOpaque(p).takeUnretainedValue() }
            let cache = Cache()
            pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
            return cache
        }

        /// This thread's cache when a scope is open on it.
        static var ifOpen: Cache? {
            guard let p = pthread_getspecific(key) else { return nil }
            let cache = Unmanaged<Cache>.fromOpaque(p).takeUnretainedValue()
            return cache.depth > 0 ? cache : nil
        }

        /// The thread's cache is released when the thread ends.
        private static let key: pthread_key_t = {
            var key = pthread_key_t()
            pthread_key_create(&key) {
                let p: UnsafeMutableRawPointer? = $0   // optional on Linux, not on Darwin
                if let p { Unmanaged<Cache>.fromOpaque(p).release() }
            }
            return key
        }()
    }
}
