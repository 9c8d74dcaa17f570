// fuzz_png: libFuzzer target: any bytes through PNGDecoder (IHDR walk in Swift, libpng via the CPNG shim), then the preparation every training image gets.
@testable import ImageIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    // 1 megapixel still reaches the limit check; 100 would only measure ASan's allocator (and the RSS limit).
    guard let image = try? PNGDecoder.decode(bytes, path: "fuzz.png", maxPixels: 1 << 20) else { return 0 }
    // Channel count and pixel count are what the rest of the program trusts the decoder for.
    precondition((1...4).contains(image.channels) && image.width > 0 && image.height > 0)
    _ = image.toImage(channels: 3, background: .white).fitted(side: 8, mode: .pad, background: .black)
    return 0
}
