"""Writes Noto Color Emoji as Datasets/noto-emoji/{train,test}/*.png: 64×64 RGB on white, a fixed ~90/10 split.

Reads NotoColorEmoji.ttf of Debian's fonts-noto-color-emoji: its CBDT table holds one PNG per glyph
(136×128 RGBA). Each glyph is named by the code points it draws (u1f44b_1f3fb.png), found through the
font's cmap and its GSUB ligatures (sequences: flags, skin tones, ZWJ families). The side (train or
test) is a hash of that sequence with skin-tone modifiers and variation selectors left out, so the
five skin tones of one emoji fall on the same side and the test set holds no recoloured copy of a
training image. Pictures whose PNG bytes repeat an earlier glyph's are left out. Preparation as
Datasets/split.py: composited on white, padded to 136×136 on white, Lanczos to 64×64.

Needs fontTools, Pillow and numpy (Debian: python3-fonttools python3-pil python3-numpy).
Skips pictures already written.
Usage: python3 Datasets/noto_emoji.py [--font FILE] [--out DIR] [--size 64] [--test-share 0.1]
"""
import argparse, hashlib, io, os, sys

from fontTools.ttLib import TTFont
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from split import count, prepare, save, side  # noqa: E402

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
# Fitzpatrick skin tones U+1F3FB–1F3FF and the emoji/text variation selectors.
IGNORED_IN_KEY = set(range(0x1F3FB, 0x1F400)) | {0xFE0E, 0xFE0F}


def sequences(font):
    """Glyph name → the code points it draws: from the cmap, or a GSUB ligature's parts expanded."""
    direct = {}
    for cp, glyph in sorted(font.getBestCmap().items()):
        direct.setdefault(glyph, cp)
    ligatures = {}
    for lookup in font["GSUB"].table.LookupList.Lookup:
        for table in lookup.SubTable:
            table = getattr(table, "ExtSubTable", table)   # lookup type 7 wraps another
            for first, ligs in getattr(table, "ligatures", {}).items():
                for lig in ligs:
                    ligatures.setdefault(lig.LigGlyph, [first] + list(lig.Component))

    def expand(name, depth=0):
        if name in direct:
            return [direct[name]]
        if name in ligatures and depth < 32:
            return [cp for part in ligatures[name] for cp in expand(part, depth + 1)]
        return None

    return expand


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--font", default=FONT)
    p.add_argument("--out", default=os.path.join(here, "noto-emoji"))
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--test-share", type=float, default=0.1)
    a = p.parse_args()
    if not os.path.isfile(a.font):
        sys.exit(f"noto_emoji.py: {a.font} is missing; install it with: apt-get install fonts-noto-color-emoji")
    font = TTFont(a.font, lazy=True)
    expand = sequences(font)
    strike = max(font["CBDT"].strikeData, key=len)
    seen, names, written, repeats, unnamed = set(), set(), 0, 0, 0
    for glyph in sorted(strike):
        bitmap = strike[glyph]
        bitmap.decompile()
        digest = hashlib.sha256(bitmap.imageData).digest()
        if digest in seen:
            repeats += 1
            continue
        seen.add(digest)
        cps = expand(glyph)
        if cps is None:   # no code point leads to it: named by the glyph, split by the glyph name
            unnamed += 1
            name, key = glyph, glyph
        else:
            name = "u" + "_".join(f"{cp:x}" for cp in cps)
            key = "-".join(f"{cp:x}" for cp in cps if cp not in IGNORED_IN_KEY)
        if name in names:   # two glyphs for one sequence: the second keeps its glyph name too
            name += "_" + glyph
        names.add(name)
        out = os.path.join(a.out, side(key, a.test_share), name + ".png")
        if os.path.exists(out):
            continue
        with Image.open(io.BytesIO(bitmap.imageData)) as im:
            save(prepare(im, a.size), out)
        written += 1
    n = count(a.out)
    print(f"noto-emoji: train {n['train']}, test {n['test']} in {a.out} ({written} written now; "
          f"{repeats} repeated bitmaps left out" + (f", {unnamed} glyphs without code points" if unnamed else "")
          + f"), {a.size}x{a.size} RGB on white")


if __name__ == "__main__":
    main()
