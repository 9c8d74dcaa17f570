// BitmapFont: every glyph is 5×7, text lands where asked at any scale, and is clipped at the edges.
import Testing
@testable import ImageIO

struct BitmapFontTests {
    @Test func glyphsAreFiveBySeven() {
        for (c, rows) in BitmapFont.glyphs {
            #expect(rows.count == 7 && rows.allSatisfy { $0.count == 5 && $0.allSatisfy { $0 == "#" || $0 == " " } }, "\(c)")
        }
        for c in "0123456789.:-+zKLnats" { #expect(BitmapFont.supports(c), "\(c)") }
        // No two glyphs alike, so every label can be read.
        let shapes = BitmapFont.glyphs.values.map { $0.joined() }
        #expect(Set(shapes).count == shapes.count)
    }

    @Test func textIsDrawnAtItsPlaceAndScale() {
        var image = Image(width: 40, height: 20, channels: 3, fill: 1)
        image.draw(text: "1.", x: 3, y: 2, scale: 2, value: 0)
        for y in 0..<20 {
            for x in 0..<40 {
                // Independent of draw(): which glyph and font pixel covers (x, y), from the layout rules.
                let fx = (x - 3) / 2, fy = (y - 2) / 2
                let glyph = x >= 3 ? fx / 6 : -1, gx = fx % 6
                var expected = false
                if x >= 3, y >= 2, fy < 7, glyph < 2, gx < 5 {
                    expected = Array(BitmapFont.glyphs[glyph == 0 ? "1" : "."]![fy])[gx] == "#"
                }
                #expect(image[x, y, 0] == (expected ? 0 : 1) && image[x, y, 2] == image[x, y, 0], "(\(x), \(y))")
            }
        }
        #expect(BitmapFont.width("1.", scale: 2) == 22)
        #expect(BitmapFont.width("", scale: 3) == 0)
    }

    @Test func textOutsideTheImageIsClipped() {
        var image = Image(width: 4, height: 4, channels: 1, fill: 1)
        // '8' with its right column at x = 0: row 1 ("#   #") inks (0, 0); the gap after it leaves (1, 0).
        image.draw(text: "8", x: -4, y: -1)
        #expect(image[0, 0, 0] == 0 && image[1, 0, 0] == 1 && image[0, 3, 0] == 0 && image[0, 2, 0] == 1)
        image.draw(text: "88", x: 3, y: 3, scale: 3)
        #expect(image.pixels.filter { $0 == 0 }.count == 3)
    }
}
