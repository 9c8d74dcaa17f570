"""Writes golden_resnet.json: PyTorch's outputs, gradients and Adam steps for small VAEs with the
residual-family layers (3×3 stride-1 and stride-2 convolutions, residual blocks, ×2 upsampling).

Run by hand (needs torch; never in CI):  python3 Tests/VAETests/Fixtures/make_golden_resnet.py
The models come from python/vae_model.py, built from the same block lists SwiftVAE reads; the
first two are its `resnet` family (ModelConfig.resnet), the third places the blocks where their
edge cases are: a residual block first in the encoder (no input gradient) and last in the
decoder, without an activation key (SiLU by default), 3×3 stride 2 over an odd side (7 → 4).
The format is golden.json's (make_golden.py), read by the same GoldenCase in the Swift test.
"""
import json, os, sys
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "../../../python"))
from vae_model import BlockVAE, resnet  # noqa: E402
from golden_case import flat, model_case  # noqa: E402

CASES = {
    "resnet_silu": (resnet(8, 3, [4, 6], None, 3), 2),
    "resnet_relu_hidden": (resnet(8, 1, [5], 10, 2, activation="relu"), 3),
    "residual_edges": (dict(size=7, channels=3, latent=2, encoder=[
        dict(kind="residual", module="enc", activation="relu"),
        dict(kind="conv", module="enc", channels=5, kernel=3, stride=2, padding=1, activation="silu"),
        dict(kind="residual", module="enc", channels=5, activation="silu"),
        dict(kind="relu", module="enc"), dict(kind="flatten", module="enc")], decoder=[
        dict(kind="linear", module="dec_fc", channels=80), dict(kind="unflatten", channels=5),
        dict(kind="residual", module="dec", activation="relu"), dict(kind="upsample", module="dec"),
        dict(kind="conv", module="dec", channels=4, kernel=2, stride=1, padding=0, activation="silu"),
        dict(kind="conv", module="dec", channels=3, kernel=3, stride=1, padding=1),
        dict(kind="residual", module="dec")]), 2),
}

out = {}
for name, (cfg, batch) in CASES.items():
    torch.manual_seed(321)
    m = BlockVAE(cfg)
    # PyTorch initialises biases to small values already; make them larger so that a bias used in
    # the wrong place shows.
    with torch.no_grad():
        for k, p in m.named_parameters():
            if k.endswith("bias"):
                p.uniform_(-0.3, 0.3)
    x = torch.rand(batch, cfg["channels"], cfg["size"], cfg["size"])
    eps = torch.randn(batch, cfg["latent"])
    out[name] = model_case(m, cfg, batch, x, eps)

with open(os.path.join(here, "golden_resnet.json"), "w") as f:
    json.dump(out, f)
print("wrote golden_resnet.json with", ", ".join(CASES))
