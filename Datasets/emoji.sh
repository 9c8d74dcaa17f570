#!/usr/bin/env bash
# Copies the emoji PNGs of Debian's libjs-emojify (881 images, mostly 64x64 RGBA) to Datasets/emoji/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=/usr/share/javascript/emojify.js/images/emoji
out=${1:-$here/emoji}
[ -d "$src" ] || { echo "emoji.sh: $src is missing; install it with: apt-get install libjs-emojify" >&2; exit 1; }
mkdir -p "$out"
cp -n "$src"/*.png "$out"/ 2>/dev/null || true
echo "emoji: $(ls "$out" | wc -l) PNGs in $out"
