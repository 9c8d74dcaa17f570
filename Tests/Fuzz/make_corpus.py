"""Writes the fuzzers' seed corpus: python3 make_corpus.py OUT_DIR JPEGWRITE_BINARY
One folder per target (png, jpeg, exif, safetensors, config, cache) of small valid inputs, so the fuzzers
start from files that get past the signature and header checks. Standard library only; JPEGs come
from jpegwrite.c (libjpeg), which run.sh builds.
"""
import json, os, struct, subprocess, sys, zlib

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc, bits = (acc << depth) | s, bits + depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def png(color_type, depth, channels, interlace=False, extra=b"", w=7, h=5):
    top = (1 << depth) - 1

    def rows(xs, ys):
        return b"".join(b"\x00" + pack_row([(x * 3 + y * 5 + c) % (top + 1) for x in xs for c in range(channels)], depth)
                        for y in ys)
    if interlace:
        raw = b"".join(rows(range(x0, w, dx), range(y0, h, dy)) for x0, y0, dx, dy in ADAM7
                       if x0 < w and y0 < h)
    else:
        raw = rows(range(w), range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def pngs():
    # As many palette entries as the depth can index, so every sample is a valid index.
    def palette(depth):
        return chunk(b"PLTE", bytes(i % 256 for i in range(3 << depth)))
    out = {}
    for depth in (1, 2, 4, 8, 16):
        out[f"gray{depth}"] = png(0, depth, 1)
    for depth in (8, 16):
        out[f"rgb{depth}"] = png(2, depth, 3)
        out[f"gray_alpha{depth}"] = png(4, depth, 2)
        out[f"rgba{depth}"] = png(6, depth, 4)
    for depth in (1, 2, 4, 8):
        out[f"palette{depth}"] = png(3, depth, 1, extra=palette(depth))
    out["palette_trns"] = png(3, 4, 1, extra=palette(4) + chunk(b"tRNS", bytes([0, 128, 255])))
    out["gray_trns"] = png(0, 8, 1, extra=chunk(b"tRNS", b"\x00\x07"))
    out["rgb_gamma"] = png(2, 8, 3, extra=chunk(b"gAMA", struct.pack(">I", 45455)) + chunk(b"sRGB", b"\x00"))
    out["rgb_interlaced"] = png(2, 8, 3, interlace=True)
    out["gray2_interlaced"] = png(0, 2, 1, interlace=True)
    out["rgba_text"] = png(6, 8, 4, extra=chunk(b"tEXt", b"Comment\x00seed"))
    return out


def exif_jpeg(tiff):
    """A JPEG header holding one APP1 EXIF segment (the EXIF reader stops at SOS)."""
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + b"\xff\xd9"


def tiff(little, orientation, extra_entries=0):
    e = "<" if little else ">"
    entries = [(0x010F, 2, 4, b"Cam\x00")] * extra_entries + [(0x0112, 3, 1, struct.pack(e + "HH", orientation, 0))]
    ifd = struct.pack(e + "H", len(entries)) + b"".join(struct.pack(e + "HHI", t, k, n) + v for t, k, n, v in entries)
    return (b"II" if little else b"MM") + struct.pack(e + "HI", 42, 8) + ifd + struct.pack(e + "I", 0)


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, shape, values in tensors:
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    if metadata is not None:
        header["__metadata__"] = metadata
    return safetensors_file(header, data)


def safetensors_file(header, data=b""):
    text = json.dumps(header, sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def config(model, size, channels, top=None, **training):
    train = {"epochs": 10, "batch": 64, "learningRate": 0.001, "beta": 1, "seed": 0, "validationFraction": 0.05,
             "shards": 2, "averageDecay": 0.99, "maxBadSteps": 3}
    train.update(training)
    run = {"model": model, "data": {"size": size, "channels": channels, "fit": "crop", "background": "white"},
           "training": train, "dataFolders": ["/data/images"], "version": 1}
    run.update(top or {})
    return json.dumps(run, indent=2).encode()


def model(size, channels, widths, latent, hidden=None, **extra):
    m = {"size": size, "channels": channels, "widths": widths, "latent": latent, "likelihood": "bernoulli",
         "logScale": -2.3025851, "learnScale": False, "kernel": 4, "stride": 2, "padding": 1}
    if hidden is not None:
        m["hidden"] = hidden
    m.update(extra)
    return m


def cache_hash(data, h=0xCBF29CE484222325):
    """CacheFile.hash: FNV-1a's step over little-endian 8-byte words, then over the trailing bytes."""
    m = (1 << 64) - 1
    words = len(data) // 8
    for w in struct.unpack("<%dQ" % words, data[:words * 8]):
        h = ((h ^ w) * 0x100000001B3) & m
    for b in data[words * 8:]:
        h = ((h ^ b) * 0x100000001B3) & m
    return h


def cache_file(key, record, images, entries, block=None):
    """An image cache in the layout of Sources/VAE/Cache/CacheFile.swift's header comment.
    images: the kept images' records (bytes of `record` each); entries: (name, size, mtime, slot, reason)."""
    key = key.encode()
    block = block or max(1, (1 << 20) // record)
    blocks = (len(images) + block - 1) // block
    images_offset = (128 + len(key) + 4095) // 4096 * 4096
    images_end = images_offset + record * len(images)
    index_offset = (images_end + 7) // 8 * 8
    strings, index = b"", b""
    for name, size, mtime, slot, reason in entries:
        n, r = name.encode(), reason.encode()
        index += struct.pack("<QqqQII", size, mtime, slot, len(strings), len(n), len(r))
        strings += n + r
    data = b"".join(images)
    for b in range(blocks):
        index += struct.pack("<Q", cache_hash(data[b * block * record:(b + 1) * block * record]))
    index += strings
    head = b"VAECACHE" + struct.pack("<II9Q", 1, 128, len(key), len(images), record, images_offset, block, len(entries),
                                     index_offset, len(strings), index_offset + len(index))
    head += b"\0" * (128 - len(head)) + key
    checksum = cache_hash(index, cache_hash(key, cache_hash(head[:88])))
    head = head[:88] + struct.pack("<Q", checksum) + head[96:]
    return head + b"\0" * (images_offset - len(head)) + data + b"\0" * (index_offset - images_end) + index


def main():
    out, jpegwrite = sys.argv[1], sys.argv[2]
    files = {("png", k): v for k, v in pngs().items()}
    for o in range(1, 9):
        files[("exif", f"orientation{o}_ii")] = exif_jpeg(tiff(True, o))
        files[("exif", f"orientation{o}_mm")] = exif_jpeg(tiff(False, o, extra_entries=o % 3))
    files[("safetensors", "two")] = safetensors([("enc.0.weight", [2, 1, 2, 2], [0.5] * 8), ("enc.0.bias", [2], [1, -1])],
                                                {"format": "pt"})
    files[("safetensors", "scalar_and_empty")] = safetensors([("s", [], [3.0]), ("e", [0, 4], [])])
    files[("safetensors", "none")] = safetensors([])
    # A header announcing far more data than the file holds (a truncated checkpoint), with big numbers to mutate.
    files[("safetensors", "truncated_large")] = safetensors_file(
        {"w": {"dtype": "F32", "shape": [4096, 4096, 4096], "data_offsets": [0, 274877906944]}})
    files[("config", "fmnist")] = config(model(28, 1, [32, 64], 16, hidden=256, initialization="kaiming"), 28, 1,
                                         clipNorm=1.0)
    files[("config", "rgb64")] = config(model(64, 3, [32, 64, 128, 256], 128, likelihood="gaussian"), 64, 3)
    files[("config", "small")] = config(model(8, 1, [4], 2), 8, 1, averageDecay=None)
    # Block lists (today's format): every kind, both activations, the three likelihoods.
    conv = lambda kind, module, ch, k=4, s=2, p=1, act=None: dict(kind=kind, module=module, channels=ch, kernel=k, stride=s,
                                                                 padding=p, **({"activation": act} if act else {}))
    blocks = {"size": 8, "channels": 3, "latent": 3, "likelihood": "logistic", "mixtures": 2, "initialization": "kaiming",
              "encoder": [conv("conv", "enc", 5, 3, 1, 1, "silu"), {"kind": "residual", "module": "enc", "activation": "relu"},
                          conv("conv", "enc", 6, 4, 2, 1, "relu"), {"kind": "flatten", "module": "enc"},
                          {"kind": "linear", "module": "enc_fc", "channels": 12}, {"kind": "relu", "module": "enc_fc"}],
              "decoder": [{"kind": "linear", "module": "dec_fc", "channels": 24, "activation": "silu"},
                          {"kind": "unflatten", "channels": 6}, conv("deconv", "dec", 5, 4, 2, 1, "relu"),
                          {"kind": "silu", "module": "dec"}, {"kind": "upsample", "module": "dec"},
                          {"kind": "conv", "module": "dec", "kernel": 3, "stride": 1, "padding": 1}]}
    files[("config", "blocks")] = config(blocks, 8, 3, top={"runID": "0123456789abcdef", "version": 2})
    gaussian = dict(blocks, likelihood="gaussian", learnScale=True, logScale=-1.5)
    del gaussian["mixtures"]
    files[("config", "blocks_gaussian")] = config(gaussian, 8, 3, top={"limit": 5, "version": 2},
                                                    schedule={"kind": "cosine", "warmupSteps": 10, "totalSteps": 500},
                                                    klWarmupSteps=10, freeBits=0.25, flip=True, timeLimit=60.0)
    images = [bytes((i * 7 + j) % 256 for j in range(12)) for i in range(3)]
    files[("cache", "three")] = cache_file("SwiftVAE image cache, preparation 1\nfolder /data\nsize 2 channels 3", 12, images,
                                           [("0:a.png", 70, 1700000000123456789, 0, ""), ("0:b.txt", 5, 1, -1, ""),
                                            ("0:broken.png", 11, 2, -2, "truncated PNG"), ("0:sub/c.png", 80, 3, 1, ""),
                                            ("0:sub/d.png", 81, 4, 2, "")])
    files[("cache", "empty")] = cache_file("k", 1, [], [])
    # Blocks of 3 images, the last of 1 (vae writes about 1 MiB a block; a reader takes any block size).
    files[("cache", "many_blocks")] = cache_file("blocks", 3, [bytes([i, i, i]) for i in range(10)],
                                                 [("0:%02d.png" % i, i, i, i, "") for i in range(10)], block=3)
    for (target, name), data in files.items():
        os.makedirs(os.path.join(out, target), exist_ok=True)
        with open(os.path.join(out, target, name), "wb") as f:
            f.write(data)
    jpegs = {"baseline": "16 12 3", "h2v2": "17 9 3 h2v2", "progressive": "16 16 3 progressive h2v2",
             "gray": "9 7 1", "gray_progressive": "9 7 1 progressive", "cmyk": "8 8 4",
             "orientation6": "12 8 3 orientation=6", "orientation3_progressive": "8 12 3 progressive orientation=3",
             "large": "96 64 3 h2v2"}
    os.makedirs(os.path.join(out, "jpeg"), exist_ok=True)
    for name, args in jpegs.items():
        path = os.path.join(out, "jpeg", name)
        subprocess.run([jpegwrite, path] + args.split(), check=True)
        # The EXIF target gets the real files too: its reader walks every marker before SOS.
        if "orientation" in name:
            with open(path, "rb") as src, open(os.path.join(out, "exif", name), "wb") as dst:
                dst.write(src.read())


if __name__ == "__main__":
    main()
