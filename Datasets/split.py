"""Splits a folder of pictures into DST/train and DST/test, as final SIZE×SIZE RGB PNGs on white.

Which side a picture goes to depends only on its name (a hash of its path without extension, about
--test-share of them to test), so the split is the same on every machine and does not move when
pictures are added. The output is what `vae train --size SIZE --channels 3` sees pixel for pixel
(a SIZE×SIZE RGB PNG is read unchanged: no compositing, crop or resize left to do), so other
tools (python/train_torch.py) read exactly the same data. Each picture is composited on white
(vae's default background) as vae does it, in floats rounded to the nearest level; a non-square
one is padded to square on white; then it is scaled to SIZE×SIZE with Lanczos (PIL), if it is
not that size already.

Needs Pillow and numpy. Skips pictures already written.
Usage: python3 Datasets/split.py SRC DST [--size 64] [--test-share 0.1]
   e.g. python3 Datasets/split.py Datasets/emoji Datasets/emoji-split
"""
import argparse, hashlib, io, os, sys

import numpy as np
from PIL import Image

EXTENSIONS = (".png", ".jpg", ".jpeg")


def side(key, test_share=0.1):
    """'test' for about `test_share` of the keys, else 'train': the first 8 bytes of SHA-256(key)."""
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return "test" if h < test_share * 2 ** 64 else "train"


def on_white(image):
    """RGB uint8 array (H, W, 3): the picture composited on white in floats, as vae's
    DecodedImage.toImage does (v·a + 1·(1 − a)), rounded to the nearest level."""
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    return np.clip((rgb * alpha + (1 - alpha)) * 255 + 0.5, 0, 255).astype(np.uint8)


def prepare(image, size):
    """The picture as a size×size RGB PIL image: on white, padded to square on white, scaled with Lanczos."""
    rgb = on_white(image)
    h, w, _ = rgb.shape
    if h != w:
        n = max(h, w)
        square = np.full((n, n, 3), 255, np.uint8)
        square[(n - h) // 2:(n - h) // 2 + h, (n - w) // 2:(n - w) // 2 + w] = rgb
        rgb = square
    out = Image.fromarray(rgb, "RGB")
    return out if out.size == (size, size) else out.resize((size, size), Image.LANCZOS)


def save(image, path):
    """Writes the PNG through a temporary file, so an interrupted run leaves no half file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)


def count(dst):
    return {s: sum(len([f for f in fs if f.endswith(".png")]) for _, _, fs in os.walk(os.path.join(dst, s)))
            for s in ("train", "test")}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--test-share", type=float, default=0.1)
    a = p.parse_args()
    if not os.path.isdir(a.src):
        sys.exit(f"split.py: {a.src} is not a folder")
    if not 0 < a.test_share < 1 or not 1 <= a.size <= 4096:
        sys.exit("split.py: --test-share must be between 0 and 1, --size between 1 and 4096")
    written = failed = 0
    for root, dirs, files in os.walk(a.src):
        dirs.sort()
        for name in sorted(files):
            if not name.lower().endswith(EXTENSIONS):
                continue
            rel = os.path.relpath(os.path.join(root, name), a.src)
            key = os.path.splitext(rel)[0]
            out = os.path.join(a.dst, side(key, a.test_share), key + ".png")
            if os.path.exists(out):
                continue
            try:
                with Image.open(os.path.join(root, name)) as im:
                    save(prepare(im, a.size), out)
                written += 1
            except (OSError, ValueError) as e:
                print(f"split.py: skipped {os.path.join(root, name)}: {e}", file=sys.stderr)
                failed += 1
    n = count(a.dst)
    print(f"{a.dst}: train {n['train']}, test {n['test']} ({written} written now"
          + (f", {failed} unreadable" if failed else "") + f"), {a.size}x{a.size} RGB on white")


if __name__ == "__main__":
    main()
