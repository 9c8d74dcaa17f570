// fuzz_cache: libFuzzer target: any bytes through the image cache's parser; what it accepts must survive a write and a read.
import VAE

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCache(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let file = bytes.withUnsafeBytes({ try? CacheFile.parse($0, path: "fuzz.vaecache") }) else { return 0 }
    // Written again (in vae's own block size) and read back, it must hold the same files and images.
    let images = Array(bytes[file.imagesOffset..<(file.imagesOffset + file.imageCount * file.recordBytes)])
    let again = images.withUnsafeBytes { CacheFile.encoded(key: file.key, recordBytes: file.recordBytes, images: $0, entries: file.entries) }
    let read: CacheFile
    do { read = try again.withUnsafeBytes { try CacheFile.parse($0, path: "fuzz-rewritten.vaecache") } } catch {
        preconditionFailure("re-encoded cache does not read back: \(error)")
    }
    precondition(read.key == file.key && read.entries == file.entries && read.imageCount == file.imageCount
                 && Array(again[read.imagesOffset..<(read.imagesOffset + images.count)]) == images)
    return 0
}
