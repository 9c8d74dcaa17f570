// fuzz_jpeg: libFuzzer target: any bytes through JPEGDecoder (libjpeg via the CJPEG shim, then the EXIF turn), then the preparation every training image gets.
@testable import ImageIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJPEG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    // Odd lengths also take the DCT-scaled path training uses (1/2 to 1/8 size), without a second
    // decode of every input; 1 megapixel still reaches the limit check.
    let minimumSide = size & 1 == 1 ? 4 : 0
    guard let image = try? JPEGDecoder.decode(bytes, path: "fuzz.jpg", maxPixels: 1 << 20,
                                              minimumSide: minimumSide) else { return 0 }
    precondition((image.channels == 1 || image.channels == 3) && image.width > 0 && image.height > 0)
    _ = image.toImage(channels: 1, background: .white).fitted(side: 8, mode: .crop, background: .white)
    return 0
}
