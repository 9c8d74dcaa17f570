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

/// A colour in [0, 1] that transparent pixels are laid on, and padding is filled with.
public struct Background: Sendable, Equatable {
    public var red: Float, green: Float, blue: Float
    public init(red: Float, green: Float, blue: Float) { (self.red, self.green, self.blue) = (red, green, blue) }
    public static let white = Background(red: 1, green: 1, blue: 1)
    public static let black = Background(red: 0, green: 0, blue: 0)

    /// Parses "white", "black", "gray" or a hex colour "#RRGGBB".
    public init?(_ text: String) {
        switch text.lowercased() {
        case "white": self = .white
        case "black": self = .black
        case "gray", "grey": self.init(red: 0.5, green: 0.5, blue: 0.5)
        default:
            let hex = text.hasPrefix("#") ? String(text.dropFirst()) : text
            guard hex.count == 6, let v = UInt32(hex, radix: 16) else { return nil }
            self.init(red: Float(v >> 16 & 0xFF) / 255, green: Float(v >> 8 & 0xFF) / 255,
                      blue: Float(v & 0xFF) / 255)
        }
    }

    var luma: Float { Luma.of(red, green, blue) }
    func values(channels: Int) -> [Float] { channels == 1 ? [luma] : [red, green, blue] }
}

enum Luma {
    /// ITU-R BT.601 weights, as PIL's convert('L') and libjpeg use.
    static func of(_ r: Float, _ g: Float, _ b: Float) -> Float { 0.299 * r + 0.587 * g + 0.114 * b }
}
