// ImageBytes: a data set's prepared images, either a buffer of its own or a read-only memory map of a cache file.
import Foundation

/// The bytes of (N, C, H, W) images, read-only. Either way there is one copy: a buffer the
/// loader filled, or the pages of a cache file mapped in (shared with the page cache, dropped
/// by the kernel under pressure and read back on demand).
public struct ImageBytes: RandomAccessCollection, @unchecked Sendable {
    /// Owns the memory: the array, or the mapping (unmapped when the last data set using it goes).
    final class Storage: @unchecked Sendable {
        let array: [UInt8]?
        let mapping: UnsafeMutableRawPointer?
        let mappedLength: Int
        let base: UnsafePointer<UInt8>?

        init(array: [UInt8]) { (self.array, mapping, mappedLength, base) = (array, nil, 0, nil) }

        /// A mapping of `mappedLength` bytes, unmapped when this goes.
        init(mapping: UnsafeMutableRawPointer, mappedLength: Int) {
            (array, self.mapping, self.mappedLength) = (nil, mapping, mappedLength)
            base = UnsafePointer(mapping.assumingMemoryBound(to: UInt8.self))
        }

        deinit { if let mapping { munmap(mapping, mappedLength) } }
    }

    let storage: Storage
    /// Where the images start in a mapping (the file's header comes first).
    let offset: Int
    public let count: Int

    public init(_ array: [UInt8]) {
        storage = Storage(array: array)
        (offset, count) = (0, array.count)
    }

    /// `count` bytes of a mapping from `offset`, which must lie within it.
    init(storage: Storage, offset: Int, count: Int) {
        precondition(storage.array == nil && offset >= 0 && count >= 0 && offset <= storage.mappedLength - count)
        (self.storage, self.offset, self.count) = (storage, offset, count)
    }

    /// Whether the bytes are a file's pages mapped in, rather than a buffer of their own.
    public var isMapped: Bool { storage.mapping != nil }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(i: Int) -> UInt8 {
        if let array = storage.array { return array[i] }
        precondition(i >= 0 && i < count, "image byte \(i) of \(count)")
        return storage.base![offset + i]
    }

    /// Reads bytes `range` ahead (a mapping only; nothing for a buffer), whole pages around it.
    public func willNeed(_ range: Range<Int>) { advise(range, outward: true, Int32(MADV_WILLNEED)) }

    /// Drops bytes `range` from this process's resident memory (a mapping only): the whole pages
    /// inside it, so a neighbour's bytes on a shared page stay. The page cache keeps them, and a
    /// later read faults them back in: nothing is lost, the memory is bounded.
    public func release(_ range: Range<Int>) { advise(range, outward: false, Int32(MADV_DONTNEED)) }

    static let pageBytes = Int(sysconf(Int32(_SC_PAGESIZE)))

    private func advise(_ range: Range<Int>, outward: Bool, _ advice: Int32) {
        guard let mapping = storage.mapping, !range.isEmpty else { return }
        let page = Self.pageBytes, low = offset + range.lowerBound, high = offset + range.upperBound
        let first = outward ? low / page * page : (low + page - 1) / page * page
        let last = outward ? Swift.min(storage.mappedLength, (high + page - 1) / page * page) : high / page * page
        if last > first { madvise(mapping + first, last - first, advice) }
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let array = storage.array { return try array.withUnsafeBufferPointer(body) }
        return try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: storage.base! + offset, count: count)) }
    }
}
