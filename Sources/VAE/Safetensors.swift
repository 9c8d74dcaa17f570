// Safetensors: reads and writes the safetensors format (little-endian F32 tensors, JSON header).
import Foundation
import ImageIO

public enum SafetensorsError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case corrupt(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read checkpoint (\(reason))"
        case let .corrupt(path, reason): return "\(path): not a valid checkpoint (\(reason))"
        }
    }
}

public struct Safetensors {
    public struct Entry { public var name: String; public var shape: [Int]; public var values: [Float] }
    public var tensors: [Entry]
    public var metadata: [String: String]

    public init(tensors: [Entry], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> Entry? { tensors.first { $0.name == name } }

    /// The file's bytes: an 8-byte header length, the JSON header padded with spaces to a
    /// multiple of 8, then the tensors' data in order.
    public func encoded() -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        for t in tensors {
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]]
            offset += 4 * t.values.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = Array((try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data())
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for t in tensors {
            t.values.withUnsafeBytes { raw in
                // Floats are stored little-endian; every platform Swift runs on here is little-endian.
                out.append(contentsOf: raw)
            }
        }
        return out
    }

    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    /// Parses a safetensors file, checking every offset against the file's size.
    /// A regular file only (a FIFO would block), at most `limit` bytes (by default 16 GiB: 2^28
    /// parameters, four copies).
    public static func read(_ path: String, limit: Int = 16 << 30) throws -> Safetensors {
        let bytes: [UInt8]
        do {
            bytes = try ImageDecoder.readFile(path, limit: limit)
        } catch let error as ImageIOError {
            if case let .unreadable(_, reason) = error { throw SafetensorsError.unreadable(path: path, reason: reason) }
            throw SafetensorsError.corrupt(path: path, reason: "\(error)".replacingOccurrences(of: path + ": ", with: ""))
        }
        return try decode(bytes, path: path)
    }

    /// Parses a safetensors file's bytes; `path` only names the file in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> Safetensors {
        guard bytes.count >= 8 else { throw SafetensorsError.corrupt(path: path, reason: "file is \(bytes.count) bytes") }
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard headerLength > 0, headerLength <= bytes.count - 8, headerLength <= 1 << 20 else {  // real headers are a few kB; parsing a huge one takes gigabytes
            throw SafetensorsError.corrupt(path: path, reason: "header length \(headerLength) does not fit the file")
        }
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any] else {
            throw SafetensorsError.corrupt(path: path, reason: "header is not JSON")
        }
        let base = 8 + headerLength
        var entries: [(Int, Entry)] = []
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let info = value as? [String: Any], info["dtype"] as? String == "F32",
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2,
                  shape.allSatisfy({ $0 >= 0 }) else {
                throw SafetensorsError.corrupt(path: path, reason: "tensor '\(name)' is not an F32 tensor entry")
            }
            // Shape and offsets are the file's numbers: products and sums are checked, so values near
            // Int.max are refused rather than trapping.
            guard let count = elementCount(shape), count <= Int.max / 4 else {
                throw SafetensorsError.corrupt(path: path, reason: "tensor '\(name)' has shape \(shape), too many elements")
            }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] - offsets[0] == 4 * count,
                  offsets[1] <= bytes.count - base else {
                throw SafetensorsError.corrupt(path: path, reason: "tensor '\(name)' lies outside the file (truncated?)")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { raw in
                bytes.withUnsafeBytes { src in
                    raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[(base + offsets[0])..<(base + offsets[1])]))
                }
            }
            entries.append((offsets[0], Entry(name: name, shape: shape, values: values)))
        }
        return Safetensors(tensors: entries.sorted { $0.0 < $1.0 }.map(\.1), metadata: metadata)
    }

    /// The product of `shape`, or nil when it overflows Int.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for side in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: side)
            if overflow { return nil }
            count = product
        }
        return count
    }
}
