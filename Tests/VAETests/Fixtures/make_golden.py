"""Writes golden.json: PyTorch's outputs, gradients and Adam steps for small VAEs described by block lists.

Run by hand (needs torch; never in CI):  python3 Tests/VAETests/Fixtures/make_golden.py
The models come from the project's PyTorch counterpart (python/vae_model.py), which builds a
config.json's block lists with SwiftVAE's parameter names; its plain family matches the PyTorch
peer's module for module. Each case's "model" is a config.json model section that the Swift
test decodes as it would a run folder's.
"""
import json, math, os, sys
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "../../../python"))
from vae_model import BlockVAE, plain  # noqa: E402
from golden_case import flat, model_case  # noqa: E402

conv = lambda kind, module, ch, k, s, p, act=None: dict(kind=kind, module=module, channels=ch, kernel=k, stride=s,
                                                       padding=p, **({"activation": act} if act else {}))
CASES = {
    "rgb_hidden": (plain(8, 3, [4, 6], 10, 3), 3),
    "gray_plain": (plain(8, 1, [5, 3, 2], None, 4), 2),
    # Every layer kind and both activations through the block list: 3×3 stride-1 convolutions,
    # SiLU after a layer and as a block of its own, a standalone ReLU, a convolution as the last layer.
    "silu_blocks": (dict(size=8, channels=3, latent=3, encoder=[
        conv("conv", "enc", 5, 3, 1, 1, "silu"), conv("conv", "enc", 6, 4, 2, 1, "relu"),
        dict(kind="flatten", module="enc"), dict(kind="linear", module="enc_fc", channels=12),
        dict(kind="relu", module="enc_fc")], decoder=[
        dict(kind="linear", module="dec_fc", channels=24, activation="silu"), dict(kind="unflatten", channels=6),
        conv("deconv", "dec", 5, 4, 2, 1, "relu"), dict(kind="silu", module="dec"),
        conv("deconv", "dec", 4, 4, 2, 1), dict(kind="conv", module="dec", kernel=3, stride=1, padding=1)]), 2),
    "gaussian_learned": (plain(8, 1, [4], None, 2, "gaussian", -1.2, True), 2),
}

out = {}
for name, (cfg, batch) in CASES.items():
    torch.manual_seed(123)
    m = BlockVAE(cfg)
    x = torch.rand(batch, cfg["channels"], cfg["size"], cfg["size"])
    eps = torch.randn(batch, cfg["latent"])
    out[name] = model_case(m, cfg, batch, x, eps)

with open(os.path.join(here, "golden.json"), "w") as f:
    json.dump(out, f)
print("wrote golden.json with", ", ".join(CASES))
