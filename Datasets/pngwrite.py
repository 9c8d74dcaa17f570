"""A minimal PNG writer (8-bit gray, gray+alpha, RGB or RGBA) using only Python's standard library."""
import struct
import zlib

COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}


def write_png(path, width, height, channels, pixels):
    """pixels: bytes of height rows of width*channels samples."""
    raw = b"".join(b"\x00" + pixels[y * width * channels:(y + 1) * width * channels] for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[channels], 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
