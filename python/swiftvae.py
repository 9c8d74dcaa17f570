"""A SwiftVAE run folder as a PyTorch module: its config.json's model (any block lists, not only the
presets) with model.safetensors loaded.

    import sys; sys.path.insert(0, "python")     # this folder
    import swiftvae
    model = swiftvae.load("Output/photos-20261125-101500")

    mean, logvar = model.encode(x)       # x: (B, C, H, W) in [0, 1], prepared as the run's images are
    images = model.decode(mean)          # the likelihood's mean image, (B, C, H, W) in [0, 1]
    nats = model.neg_elbo(x)             # per image: −log p(x | z) + KL(q(z|x) ‖ p(z)), one z each

Layers and names come from vae_model.py (the same modules SwiftVAE's golden tests check against);
the logistic mixture from discretized_logistic.py. Needs only torch (safetensors are read here).
"""
import json, os, struct, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import discretized_logistic  # noqa: E402
import vae_model  # noqa: E402


def read_safetensors(path):
    """name -> float32 tensor, for the F32 tensors SwiftVAE writes."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, not F32")
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info["shape"])
    return out


class SwiftVAE(vae_model.BlockVAE):
    """vae_model.BlockVAE with the methods a user of a run wants: encode, decode to images, −ELBO."""

    def output(self, z):
        """The decoder's output: the likelihood's parameters (logits, means, mixture planes)."""
        return vae_model.BlockVAE.decode(self, z)

    def decode(self, z):
        """Images (B, C, H, W) in [0, 1]: the likelihood's mean, as `vae decode` and `vae sample` show it."""
        out, likelihood = self.output(z), self.cfg.get("likelihood", "bernoulli")
        if likelihood in ("bernoulli", "gaussian"):
            return self.mean_image(out)  # with an autoregressive term, filled in raster order
        mixtures = self.cfg.get("mixtures") or vae_model.DEFAULT_MIXTURES
        return discretized_logistic.mean(out, self.cfg["channels"], mixtures)

    def neg_elbo(self, x, generator=None, eps=None):
        """Per image, in nats: −log p(x | z) + KL(q(z|x) ‖ p(z)) with one z = mean + σ·eps each (the
        KL in closed form for N(0, I), at that z for a learned prior).
        eps is drawn from `generator` (a torch.Generator; the global one if None) unless given;
        eps = 0 gives the reconstruction at the mean (`vae evaluate --at-mean`)."""
        mean, logvar = self.encode(x)
        if eps is None:
            eps = torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
        z = mean + torch.exp(0.5 * logvar) * eps
        return self.nll(self.output(z), x) + self.kl_at(mean, logvar, eps)


def load(run_dir):
    """The model of a run folder written by `vae train`, in eval mode."""
    with open(os.path.join(run_dir, "config.json")) as f:
        cfg = vae_model.block_lists(json.load(f)["model"])
    model = SwiftVAE(cfg)
    model.load_state_dict(read_safetensors(os.path.join(run_dir, "model.safetensors")))
    return model.eval()
