"""Writes golden_autoregressive.json: PyTorch's outputs, gradients and Adam steps for small VAEs whose
Bernoulli pixels have the autoregressive term (config.json's "autoregressive"), and the mean image
the raster-order fill makes from given logits.

Run by hand (needs torch; never in CI):  python3 Tests/VAETests/Fixtures/make_golden_autoregressive.py
The models come from python/vae_model.py (its Autoregressive module builds the masked convolution
with PyTorch's conv2d, independently of SwiftVAE's im2col of the taps); the format of "models" is
golden.json's, read by the same GoldenCase in the Swift test. Cases: gray with a 3×3 kernel, RGB
with a 5×5 kernel (every channel of the earlier pixels feeds every channel), the linear term
(no hidden layer) on RGB, and a kernel wider
than the image (7×7 on 5×5: taps fall outside on every side).
"""
import json, os, sys
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "../../../python"))
from vae_model import BlockVAE, plain  # noqa: E402
from golden_case import flat, model_case  # noqa: E402


def with_term(cfg, kernel, channels):
    cfg["autoregressive"] = dict(kernel=kernel, channels=channels)
    return cfg


CASES = {
    "ar_gray_k3": (with_term(plain(8, 1, [4], 10, 2), 3, 4), 3),
    "ar_rgb_k5": (with_term(plain(8, 3, [4, 6], None, 3), 5, 6), 2),
    "ar_rgb_linear_k5": (with_term(plain(8, 3, [4], 12, 2), 5, 0), 2),
    "ar_wide_k7": (with_term(dict(size=5, channels=1, latent=2, encoder=[
        dict(kind="flatten", module="enc"), dict(kind="linear", module="enc_fc", channels=7, activation="relu")], decoder=[
        dict(kind="linear", module="dec_fc", channels=25), dict(kind="unflatten", channels=1)]), 7, 3), 2),
}

out, fills = {}, {}
for name, (cfg, batch) in CASES.items():
    torch.manual_seed(321)
    m = BlockVAE(cfg)
    # Biases and the term's output weights (zero at initialisation) large enough that one used in
    # the wrong place shows.
    with torch.no_grad():
        for k, p in m.named_parameters():
            if k.endswith("bias"):
                p.uniform_(-0.3, 0.3)
        getattr(m.ar, "out_weight", getattr(m.ar, "weight", None)).uniform_(-0.8, 0.8)
    x = torch.rand(batch, cfg["channels"], cfg["size"], cfg["size"])
    eps = torch.randn(batch, cfg["latent"])
    with torch.no_grad():  # the mean image the starting weights fill from the first pass's logits
        mu, lv = m.encode(x)
        logits = m.decode(mu + eps * torch.exp(0.5 * lv))
        fills[name] = dict(logits=flat(logits), mean=flat(m.mean_image(logits)))
    out[name] = model_case(m, cfg, batch, x, eps)

with open(os.path.join(here, "golden_autoregressive.json"), "w") as f:
    json.dump(dict(models=out, fills=fills), f)
print("wrote golden_autoregressive.json with", ", ".join(CASES))
