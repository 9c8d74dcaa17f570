// fuzz_exif: libFuzzer target: any bytes through the EXIF orientation reader, and the turn it asks for.
@testable import ImageIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEXIF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let orientation = ExifOrientation.read(fromJPEG: bytes)
    precondition((1...8).contains(orientation), "orientation \(orientation) out of 1...8")
    // A 3×2 image with distinct samples: every turn must keep them all, with the sides swapped from 5 on.
    let info = DecodedImage.SourceInfo(format: .jpeg, channels: 1, bitDepth: 8)
    let image = DecodedImage(width: 3, height: 2, channels: 1, pixels: [0, 1, 2, 3, 4, 5], info: info)
    let turned = ExifOrientation.apply(orientation, to: image)
    precondition(turned.pixels.sorted() == image.pixels)
    precondition(orientation >= 5 ? (turned.width, turned.height) == (2, 3) : (turned.width, turned.height) == (3, 2))
    return 0
}
