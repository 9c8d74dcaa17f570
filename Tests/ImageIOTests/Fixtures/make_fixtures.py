"""Writes the decoder test fixtures in this folder. Run by hand: python3 make_fixtures.py
PNGs are written byte by byte here (every colour type, bit depth, palette, tRNS, Adam7); JPEGs
with Pillow (pip install pillow). The pattern the tests expect is pattern() below, mirrored in
DecoderTests.swift.
"""
import io, os, struct, zlib
from PIL import Image

W, H = 13, 9
here = os.path.dirname(os.path.abspath(__file__))


def pattern(x, y, c):
    return (x * 31 + y * 17 + c * 59) % 256


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        bits += depth
        if bits == 8:
            out.append(acc); acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png(path, color_type, depth, sample, channels, interlace=False, extra=b"", width=W, height=H):
    """sample(x, y, c) gives the stored sample value."""
    def rows(xs, ys):
        return b"".join(b"\x00" + pack_row([sample(x, y, c) for x in xs for c in range(channels)], depth) for y in ys)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            xs, ys = list(range(x0, width, dx)), list(range(y0, height, dy))
            if xs and ys:
                raw += rows(xs, ys)
    else:
        raw = rows(range(width), range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 1 if interlace else 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(os.path.join(here, path), "wb") as f:
        f.write(data)
    return data


def main():
    for depth in (1, 2, 4, 8, 16):
        top = (1 << depth) - 1
        png(f"gray{depth}.png", 0, depth, lambda x, y, c, t=top: pattern(x, y, 0) % (t + 1) if depth < 8
            else pattern(x, y, 0) * (257 if depth == 16 else 1), 1)
    png("gray_alpha.png", 4, 8, lambda x, y, c: pattern(x, y, c), 2)
    png("rgb.png", 2, 8, lambda x, y, c: pattern(x, y, c), 3)
    png("rgb16.png", 2, 16, lambda x, y, c: pattern(x, y, c) * 257, 3)
    png("rgba.png", 6, 8, lambda x, y, c: pattern(x, y, c), 4)
    png("rgb_interlaced.png", 2, 8, lambda x, y, c: pattern(x, y, c), 3, interlace=True)
    png("gray2_interlaced.png", 0, 2, lambda x, y, c: pattern(x, y, 0) % 4, 1, interlace=True)
    palette = b"".join(bytes([i, 255 - i, (i * 7) % 256]) for i in range(256))
    png("palette.png", 3, 8, lambda x, y, c: pattern(x, y, 0), 1, extra=chunk(b"PLTE", palette))
    png("palette_trns.png", 3, 8, lambda x, y, c: pattern(x, y, 0), 1,
        extra=chunk(b"PLTE", palette) + chunk(b"tRNS", bytes(range(256))))
    png("palette4.png", 3, 4, lambda x, y, c: pattern(x, y, 0) % 16, 1, extra=chunk(b"PLTE", palette[:48]))

    # Hostile and broken files.
    good = png("valid_for_damage.png", 2, 8, lambda x, y, c: pattern(x, y, c), 3)
    os.remove(os.path.join(here, "valid_for_damage.png"))
    open(os.path.join(here, "empty.png"), "wb").close()
    open(os.path.join(here, "text.png"), "wb").write(b"hello, this is not an image\n")
    open(os.path.join(here, "gif.png"), "wb").write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
    open(os.path.join(here, "truncated.png"), "wb").write(good[: len(good) * 6 // 10])
    bad = bytearray(good)
    idat = bad.index(b"IDAT")
    length = struct.unpack(">I", bad[idat - 4:idat])[0]
    bad[idat + 4 + length] ^= 0xFF   # the data is intact, its CRC is wrong
    open(os.path.join(here, "bad_crc.png"), "wb").write(bytes(bad))
    zero = bytearray(good)
    zero[16:20] = b"\x00\x00\x00\x00"
    zero[29:33] = struct.pack(">I", zlib.crc32(bytes(zero[12:29])) & 0xFFFFFFFF)
    open(os.path.join(here, "zero_width.png"), "wb").write(bytes(zero))
    # 30000 x 30000 claimed (900 megapixels) with a few bytes of data: must be refused before allocating.
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    open(os.path.join(here, "huge.png"), "wb").write(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 30001)) + chunk(b"IEND", b""))

    # JPEGs: flat colour blocks, so decoded values are close to what was drawn.
    def blocks(mode, colors, size=(16, 8)):
        im = Image.new(mode, size)
        w, h = size
        for x in range(w):
            for y in range(h):
                im.putpixel((x, y), colors[0] if x < w // 2 else colors[1])
        return im
    rb = blocks("RGB", [(220, 30, 30), (30, 30, 220)])
    rb.save(os.path.join(here, "baseline.jpg"), quality=95, subsampling=0)
    rb.save(os.path.join(here, "subsampled422.jpg"), quality=95, subsampling=1)
    rb.save(os.path.join(here, "subsampled420.jpg"), quality=95, subsampling=2)
    rb.save(os.path.join(here, "progressive.jpg"), quality=95, progressive=True)
    blocks("L", [40, 200]).save(os.path.join(here, "gray.jpg"), quality=95)
    blocks("CMYK", [(255, 0, 0, 0), (0, 0, 0, 255)]).save(os.path.join(here, "cmyk.jpg"), quality=95)
    for o in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = o
        rb.save(os.path.join(here, f"orientation{o}.jpg"), quality=95, subsampling=0, exif=exif.tobytes())
    # A larger, smooth picture for decoding at reduced size (libjpeg's DCT scaling).
    big = Image.new("RGB", (256, 192))
    big.putdata([(x, y, (x + y) // 2) for y in range(192) for x in range(256)])
    big.save(os.path.join(here, "large.jpg"), quality=90)
    buf = io.BytesIO()
    blocks("RGB", [(220, 30, 30), (30, 30, 220)], size=(64, 64)).save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    open(os.path.join(here, "truncated.jpg"), "wb").write(data[: len(data) // 2])
    # A PNG under a JPEG name: detected by content.
    with open(os.path.join(here, "rgb.png"), "rb") as f:
        open(os.path.join(here, "png_named.jpg"), "wb").write(f.read())
    print("fixtures written to", here)


if __name__ == "__main__":
    main()
