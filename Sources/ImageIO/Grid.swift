// Grid: lays images out in rows and columns with a gap, for sample grids and sheets.
extension Image {
    /// `images` (all the same size and channels) in rows of `columns`, `gap` pixels apart,
    /// on `background`; a border of `gap` goes round the whole grid.
    public static func grid(_ images: [Image], columns: Int, gap: Int = 2,
                            background: Background = .white) -> Image {
        precondition(!images.isEmpty && columns > 0, "a grid needs images and columns")
        let w = images[0].width, h = images[0].height, c = images[0].channels
        precondition(images.allSatisfy { $0.width == w && $0.height == h && $0.channels == c },
                     "grid images differ in size")
        let cols = Swift.min(columns, images.count)
        let rows = (images.count + cols - 1) / cols
        let W = cols * w + (cols + 1) * gap, H = rows * h + (rows + 1) * gap
        var out = Image(width: W, height: H, channels: c, fill: 0)
        let bg = background.values(channels: c)
        for i in 0..<(W * H) { for k in 0..<c { out.pixels[i * c + k] = bg[k] } }
        for (i, image) in images.enumerated() {
            out.paste(image, x: gap + (i % cols) * (w + gap), y: gap + (i / cols) * (h + gap))
        }
        return out
    }
}
