"""Writes Fashion-MNIST as PNG folders: Datasets/fashion-mnist/{train,test}/<label>/<index>.png.

Reads the IDX files of Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist);
standard library only. 60,000 training and 10,000 test images, 28x28 gray.
Usage: python3 Datasets/fashion_mnist.py [--out DIR] [--source DIR]
"""
import argparse, gzip, os, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngwrite import write_png  # noqa: E402

LABELS = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def read_idx(path):
    with gzip.open(path) as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xFF), data[4:4 + 4 * (magic & 0xFF)])
    return dims, data[4 + 4 * len(dims):]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--out", default=os.path.join(here, "fashion-mnist"))
    a = p.parse_args()
    for split, prefix in (("train", "train"), ("test", "t10k")):
        (n, rows, cols), pixels = read_idx(os.path.join(a.source, prefix + "-images-idx3-ubyte.gz"))
        _, labels = read_idx(os.path.join(a.source, prefix + "-labels-idx1-ubyte.gz"))
        done_marker = os.path.join(a.out, split, ".complete")
        if os.path.exists(done_marker):
            print(f"{split}: already prepared in {os.path.join(a.out, split)}")
            continue
        start = time.time()
        for label in LABELS:
            os.makedirs(os.path.join(a.out, split, label), exist_ok=True)
        size = rows * cols
        for i in range(n):
            write_png(os.path.join(a.out, split, LABELS[labels[i]], f"{i:05d}.png"), cols, rows, 1,
                      pixels[i * size:(i + 1) * size])
        open(done_marker, "w").close()
        print(f"{split}: wrote {n} PNGs to {os.path.join(a.out, split)} in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
