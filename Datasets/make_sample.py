"""Makes Datasets/sample/: 40 small pictures of shapes (circles, squares, rings, bars) drawn here,
for tests and a quick demo. Mostly 32x32 RGB PNG, with RGBA, gray and non-square ones mixed in,
and a few JPEGs when ImageMagick's `convert` is installed. Standard library only.
Usage: python3 Datasets/make_sample.py
"""
import math, os, random, shutil, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngwrite import write_png  # noqa: E402


def draw(kind, w, h, fg, bg, cx, cy, r):
    px = []
    for y in range(h):
        for x in range(w):
            dx, dy = x + 0.5 - cx, y + 0.5 - cy
            d = math.hypot(dx, dy)
            inside = {"circle": d <= r, "square": max(abs(dx), abs(dy)) <= r * 0.85,
                      "ring": r * 0.55 <= d <= r, "bar": abs(dy) <= r * 0.35 and abs(dx) <= r * 1.2}[kind]
            px.append(fg if inside else bg)
    return px


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "sample")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    rng = random.Random(7)
    kinds = ["circle", "square", "ring", "bar"]
    for i in range(40):
        kind = kinds[i % 4]
        w, h = (40, 30) if i % 13 == 5 else (32, 32)
        fg = tuple(rng.randrange(40, 256) for _ in range(3))
        bg = tuple(rng.randrange(0, 60) for _ in range(3))
        px = draw(kind, w, h, fg, bg, w / 2 + rng.uniform(-5, 5), h / 2 + rng.uniform(-5, 5), rng.uniform(6, 11))
        name = os.path.join(out, f"{kind}-{i:02d}.png")
        if i % 10 == 3:   # RGBA: background transparent
            data = bytes(v for p in px for v in (p + ((255,) if p == fg else (0,))))
            write_png(name, w, h, 4, data)
        elif i % 10 == 7:  # gray
            write_png(name, w, h, 1, bytes(int(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) for p in px))
        else:
            write_png(name, w, h, 3, bytes(v for p in px for v in p))
        if i % 10 == 9 and shutil.which("convert"):
            jpg = name[:-4] + ".jpg"
            subprocess.run(["convert", name, "-quality", "92", jpg], check=True)
            os.remove(name)
    print(f"wrote {len(os.listdir(out))} images to {out}")


if __name__ == "__main__":
    main()
