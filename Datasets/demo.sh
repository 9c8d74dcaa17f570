#!/usr/bin/env bash
# The README's demo: installs what is missing, builds in release mode, prepares Fashion-MNIST as
# PNG folders, trains the fmnist model for a few epochs and writes pictures and a report to Output/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${EPOCHS:-5}
bash .ci/setup
swift build -c release
vae=.build/release/vae
python3 Datasets/fashion_mnist.py
test=Datasets/fashion-mnist/test
rm -rf Output/demo
$vae train Datasets/fashion-mnist/train --preset fmnist --epochs "$epochs" --out Output/demo
$vae sample Output/demo --count 100 --out Output/demo/prior-samples.png
$vae reconstruct Output/demo $(for c in sneaker dress bag trouser; do ls "$test/$c"/*.png | head -6; done) \
  --columns 12 --out Output/demo/test-reconstructions.png
$vae interpolate Output/demo "$test/sneaker/00009.png" "$test/boot/00000.png" --steps 10 --out Output/demo/interpolation.png
$vae evaluate Output/demo "$test" --k 10 | tee Output/demo/evaluation.txt
echo
echo "Demo finished. Open Output/demo/report.html in a browser; the pictures are"
echo "  Output/demo/reconstructions.png        validation images above their reconstructions"
echo "  Output/demo/test-reconstructions.png   test images above their reconstructions"
echo "  Output/demo/prior-samples.png          100 images drawn from the prior"
echo "  Output/demo/interpolation.png          a sneaker turning into a boot"
