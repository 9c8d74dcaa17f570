// fuzz_safetensors: libFuzzer target: any bytes through the safetensors reader; what it accepts must survive a write and a read.
import VAE

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let file = try? Safetensors.decode(bytes, path: "fuzz.safetensors") else { return 0 }
    // Checkpoints are written by encoded() and read back: a file it accepts must round-trip exactly
    // (by name: tensors at the same offset have no defined order).
    let again: Safetensors
    do { again = try Safetensors.decode(file.encoded(), path: "fuzz-rewritten.safetensors") } catch {
        preconditionFailure("re-encoded file does not read back: \(error)")
    }
    precondition(again.tensors.count == file.tensors.count && again.metadata == file.metadata)
    for t in file.tensors {
        guard let u = again[t.name] else { preconditionFailure("tensor '\(t.name)' lost") }
        precondition(u.shape == t.shape && u.values.map(\.bitPattern) == t.values.map(\.bitPattern))
    }
    return 0
}
