// DecodedImage: 8-bit samples straight from a decoder, plus what the file said about itself.
public struct DecodedImage: Sendable {
    public var width: Int
    public var height: Int
    /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; interleaved, row-major.
    public var channels: Int
    public var pixels: [UInt8]
    public var info: SourceInfo

    /// The file's own description, as `vae inspect` prints it.
    public struct SourceInfo: Sendable, Equatable {
        public var format: ImageFormat
        /// Channels stored in the file (a palette PNG reports 3, or 4 with tRNS).
        public var channels: Int
        public var bitDepth: Int
        public var details: [String] = []
    }

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8], info: SourceInfo) {
        precondition(pixels.count == width * height * channels, "pixel count does not match shape")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.info = info
    }

    public var hasAlpha: Bool { channels == 2 || channels == 4 }
}
