// Buffer: a fixed-size, 64-byte aligned Float array owned by a class, for parameters and workspaces.
import Foundation

public typealias FloatPointer = UnsafeMutablePointer<Float>

/// Memory that hot loops index through a raw pointer taken once, sized once and never grown,
/// so the steady state of training allocates nothing.
public final class Buffer: @unchecked Sendable {
    public let pointer: FloatPointer
    public let count: Int

    public init(count: Int) {
        self.count = count
        var raw: UnsafeMutableRawPointer?
        // posix_memalign only fails for lack of memory; there is nothing sensible to go on with then.
        guard posix_memalign(&raw, 64, Swift.max(count, 1) * MemoryLayout<Float>.stride) == 0, let raw else {
            fatalError("out of memory allocating \(count) floats")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        pointer.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { free(pointer) }

    public func zero() { pointer.update(repeating: 0, count: count) }
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
    public func copy(from other: Buffer) {
        precondition(other.count == count, "buffer sizes differ")
        pointer.update(from: other.pointer, count: count)
    }
}
