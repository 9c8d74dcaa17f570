// JPEGDecoder: JPEG bytes to a DecodedImage through libjpeg, turned upright by its EXIF tag.
import CJPEG

enum JPEGDecoder {
    /// Decodes `data`; `path` only names the file in errors.
    static func decode(_ data: [UInt8], path: String, maxPixels: Int, minimumSide: Int = 0) throws -> DecodedImage {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0, height: UInt32 = 0
        var channels: Int32 = 0
        var jinfo = vae_jpeg_info()
        var err = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBufferPointer { buf in
            vae_jpeg_decode(buf.baseAddress, buf.count, UInt64(maxPixels), UInt32(clamping: minimumSide), &pixels,
                            &width, &height, &channels, &jinfo, &err, err.count)
        }
        guard status == 0, let pixels else {
            let message = String(cString: err)
            if message.contains("over the limit") { throw ImageIOError.tooLarge(path: path, reason: message) }
            throw ImageIOError.corrupt(path: path, format: .jpeg, reason: message)
        }
        defer { vae_jpeg_free(pixels) }
        var info = DecodedImage.SourceInfo(format: .jpeg, channels: Int(jinfo.components), bitDepth: 8)
        info.details.append(jinfo.components == 1 ? "gray" : jinfo.cmyk != 0 ? "cmyk" : "ycbcr")
        if jinfo.progressive != 0 { info.details.append("progressive") }
        if jinfo.scale_denom > 1 {
            info.details.append("decoded at 1/\(jinfo.scale_denom) of \(jinfo.stored_width)x\(jinfo.stored_height)")
        }
        let count = Int(width) * Int(height) * Int(channels)
        var image = DecodedImage(width: Int(width), height: Int(height), channels: Int(channels),
                                 pixels: Array(UnsafeBufferPointer(start: pixels, count: count)),
                                 info: info)
        let orientation = ExifOrientation.read(fromJPEG: data)
        if orientation != 1 {
            image = ExifOrientation.apply(orientation, to: image)
            image.info.details.append("exif-orientation-\(orientation)")
        }
        return image
    }
}
