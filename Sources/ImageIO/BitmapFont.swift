// BitmapFont: a tiny 5×7 pixel font (digits, '.', ':', '-', '+', a few letters) for labels drawn into pictures.
public enum BitmapFont {
    public static let glyphWidth = 5, glyphHeight = 7
    /// Pixels from one glyph's left edge to the next's, at scale 1.
    public static let advance = 6

    /// Each glyph as 7 rows of 5 columns, '#' for ink.
    static let glyphs: [Character: [String]] = [
        "0": [" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "],
        "1": ["  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
        "2": [" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"],
        "3": ["#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "],
        "4": ["   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "],
        "5": ["#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "],
        "6": ["  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "],
        "7": ["#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "],
        "8": [" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "],
        "9": [" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "],
        ".": ["     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "],
        ":": ["     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     "],
        "-": ["     ", "     ", "     ", "#####", "     ", "     ", "     "],
        "+": ["     ", "  #  ", "  #  ", "#####", "  #  ", "  #  ", "     "],
        " ": ["     ", "     ", "     ", "     ", "     ", "     ", "     "],
        "z": ["     ", "     ", "#####", "   # ", "  #  ", " #   ", "#####"],
        "n": ["     ", "     ", "# ## ", "##  #", "#   #", "#   #", "#   #"],
        "a": ["     ", "     ", " ### ", "    #", " ####", "#   #", " ####"],
        "t": [" #   ", " #   ", "###  ", " #   ", " #   ", " #  #", "  ## "],
        "s": ["     ", "     ", " ####", "#    ", " ### ", "    #", "#### "],
        "K": ["#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"],
        "L": ["#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"],
    ]

    public static func supports(_ c: Character) -> Bool { glyphs[c] != nil }

    /// Whether glyph `c` has ink at column x, row y (false outside it, and for characters it lacks).
    public static func ink(_ c: Character, x: Int, y: Int) -> Bool {
        guard let rows = glyphs[c], (0..<glyphHeight).contains(y), (0..<glyphWidth).contains(x) else { return false }
        return Array(rows[y])[x] == "#"
    }

    /// The width in pixels of `text` drawn at `scale` (no trailing space after the last glyph).
    public static func width(_ text: String, scale: Int) -> Int {
        text.isEmpty ? 0 : (text.count * advance - (advance - glyphWidth)) * scale
    }
}

extension Image {
    /// Draws `text` with its top-left corner at (x, y), each font pixel a scale × scale square of
    /// `value` in every channel; what falls outside the image is clipped. Unknown characters
    /// are drawn as a blank.
    public mutating func draw(text: String, x: Int, y: Int, scale: Int = 1, value: Float = 0) {
        for (i, c) in text.enumerated() {
            let left = x + i * BitmapFont.advance * scale
            for gy in 0..<BitmapFont.glyphHeight {
                for gx in 0..<BitmapFont.glyphWidth where BitmapFont.ink(c, x: gx, y: gy) {
                    for py in (y + gy * scale)..<(y + (gy + 1) * scale) where (0..<height).contains(py) {
                        for px in (left + gx * scale)..<(left + (gx + 1) * scale) where (0..<width).contains(px) {
                            for k in 0..<channels { self[px, py, k] = value }
                        }
                    }
                }
            }
        }
    }
}
