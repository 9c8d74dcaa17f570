// Background: the colour transparent pixels are laid on and padding is filled with, by name or hex.

/// A colour in [0, 1] that transparent pixels are laid on, and padding is filled with.
public struct Background: Sendable, Equatable {
    public var red: Float, green: Float, blue: Float
    public init(red: Float, green: Float, blue: Float) { (self.red, self.green, self.blue) = (red, green, blue) }
    public static let white = Background(red: 1, green: 1, blue: 1)
    public static let black = Background(red: 0, green: 0, blue: 0)
    /// Mid gray, 0.5 exactly: no #RRGGBB gives it, so it keeps its name when saved.
    public static let gray = Background(red: 0.5, green: 0.5, blue: 0.5)

    /// Parses "white", "black", "gray" or a hex colour "#RRGGBB".
    public init?(_ text: String) {
        switch text.lowercased() {
        case "white": self = .white
        case "black": self = .black
        case "gray", "grey": self = .gray
        default:
            let hex = text.hasPrefix("#") ? String(text.dropFirst()) : text
            guard hex.count == 6, let v = UInt32(hex, radix: 16) else { return nil }
            self.init(red: Float(v >> 16 & 0xFF) / 255, green: Float(v >> 8 & 0xFF) / 255,
                      blue: Float(v & 0xFF) / 255)
        }
    }

    /// The text `init?(_:)` reads back as this colour: a name for white, black and gray, else "#RRGGBB".
    public var name: String {
        switch self {
        case .white: return "white"
        case .black: return "black"
        case .gray: return "gray"
        default:
            let byte = { (v: Float) in Int((Swift.min(Swift.max(v, 0), 1) * 255).rounded()) }
            return "#" + [red, green, blue].map { String(byte($0), radix: 16, uppercase: true) }
                .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        }
    }

    var luma: Float { Luma.of(red, green, blue) }
    func values(channels: Int) -> [Float] { channels == 1 ? [luma] : [red, green, blue] }
}

/// Saved as its name ("white", "#FF8000"), as config.json has always held it.
extension Background: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let colour = Background(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription:
                "background '\(text)' is not white, black, gray or #RRGGBB")
        }
        self = colour
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
