// Image: a picture as Float samples in [0, 1], interleaved (row-major, channels last).
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// 1 (gray) or 3 (RGB).
    public var channels: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, channels: Int, pixels: [Float]) {
        precondition(pixels.count == width * height * channels, "pixel count does not match shape")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A blank image filled with `value` in every channel.
    public init(width: Int, height: Int, channels: Int, fill value: Float = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [Float](repeating: value, count: width * height * channels))
    }

    public subscript(x: Int, y: Int, c: Int) -> Float {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }
}

enum Luma {
    /// ITU-R BT.601 weights, as PIL's convert('L') and libjpeg use.
    static func of(_ r: Float, _ g: Float, _ b: Float) -> Float { 0.299 * r + 0.587 * g + 0.114 * b }
}
