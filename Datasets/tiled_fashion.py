"""Writes a large colour folder for trying streaming: 64x64 RGB PNGs, each four tinted Fashion-MNIST items in a 2x2 grid.

Its point is size, not beauty: at the default 160,000 images the prepared images take 1.97 GB
(64 x 64 x 3 bytes each), more than a small --memory budget, so `vae train` streams them from the
image cache. Deterministic: image i is the same on every machine. Reads Debian's
dataset-fashion-mnist (/usr/share/datasets/fashion-mnist); standard library only.
Usage: python3 Datasets/tiled_fashion.py [--count N] [--out DIR] [--jobs J]
"""
import argparse, colorsys, gzip, os, random, struct, sys, time
from multiprocessing import Pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngwrite import write_png  # noqa: E402

SOURCE = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
PER_FOLDER = 10_000
ITEMS = None


def load_items():
    with gzip.open(SOURCE) as f:
        data = f.read()
    n = struct.unpack(">I", data[4:8])[0]
    return n, data[16:]


def image(i):
    """Image i: four items (chosen by i) at (4, 4), (32, 4), (4, 32), (32, 32) on white, each in its own colour."""
    n, pixels = ITEMS
    rng = random.Random(i)
    out = bytearray(b"\xff" * (64 * 64 * 3))
    for tile in range(4):
        item = rng.randrange(n)
        r, g, b = colorsys.hsv_to_rgb(rng.random(), 0.5 + 0.5 * rng.random(), 0.4 + 0.5 * rng.random())
        ox, oy = 4 + 28 * (tile % 2), 4 + 28 * (tile // 2)
        src = pixels[item * 784:(item + 1) * 784]
        # Each channel is a lookup of the item's gray level: white where it is 0, the colour where it is 255.
        planes = [src.translate(bytes(int(255 * (1 - v / 255) + 255 * c * v / 255 + 0.5) for v in range(256)))
                  for c in (r, g, b)]
        for y in range(28):
            at = ((oy + y) * 64 + ox) * 3
            for k in range(3):
                out[at + k:at + 84:3] = planes[k][y * 28:(y + 1) * 28]
    return bytes(out)


def write_range(args):
    out, first, last = args
    for i in range(first, last):
        folder = os.path.join(out, f"{i // PER_FOLDER:03d}")
        write_png(os.path.join(folder, f"{i:06d}.png"), 64, 64, 3, image(i))
    return last - first


def init():
    global ITEMS
    ITEMS = load_items()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=160_000)
    p.add_argument("--out", default=os.path.join(here, "tiled-fashion"))
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = p.parse_args()
    marker = os.path.join(a.out, f".complete-{a.count}")
    if os.path.exists(marker):
        print(f"already prepared: {a.count} images in {a.out}")
        return
    for f in range(0, a.count, PER_FOLDER):
        os.makedirs(os.path.join(a.out, f"{f // PER_FOLDER:03d}"), exist_ok=True)
    start = time.time()
    pieces = [(a.out, s, min(a.count, s + 1000)) for s in range(0, a.count, 1000)]
    done = 0
    with Pool(a.jobs, initializer=init) as pool:
        for n in pool.imap_unordered(write_range, pieces):
            done += n
            print(f"\r{done}/{a.count} images", end="", flush=True)
    open(marker, "w").close()
    print(f"\nwrote {a.count} PNGs to {a.out} in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
