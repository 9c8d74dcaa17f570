"""Writes golden.json: PyTorch's outputs, gradients and Adam steps for two small conv VAEs.

Run by hand (needs torch; never in CI):  python3 Tests/VAETests/Fixtures/make_golden.py
The model is the PyTorch peer's (../shared/peers/torch_vae.py), imported from there so the
two cannot drift apart.
"""
import json, os, sys
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "../../../../shared/peers"))
from torch_vae import VAE, loss_fn  # noqa: E402

CASES = {
    "rgb_hidden": dict(size=8, channels=3, widths=[4, 6], hidden=10, latent=3, batch=3),
    "gray_plain": dict(size=8, channels=1, widths=[5, 3, 2], hidden=None, latent=4, batch=2),
}

def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]

out = {}
for name, cfg in CASES.items():
    torch.manual_seed(123)
    m = VAE(**cfg)
    x = torch.rand(cfg["batch"], cfg["channels"], cfg["size"], cfg["size"])
    eps = torch.randn(cfg["batch"], cfg["latent"])
    params0 = {k: flat(v) for k, v in m.state_dict().items()}
    shapes = {k: list(v.shape) for k, v in m.state_dict().items()}

    def forward():
        mu, lv = m.encode(x)
        z = mu + eps * torch.exp(0.5 * lv)
        logits = m.decode(z)
        return logits, mu, lv, loss_fn(logits, x, mu, lv)

    logits, mu, lv, loss = forward()
    loss.backward()
    grads = {k: flat(p.grad) for k, p in m.named_parameters()}
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    m.zero_grad()
    for _ in range(3):
        opt.zero_grad()
        forward()[3].backward()
        opt.step()
    out[name] = dict(config=cfg, names=list(params0.keys()), shapes=shapes, params=params0,
                     x=flat(x), eps=flat(eps), logits=flat(logits), mean=flat(mu), logvar=flat(lv),
                     loss=float(loss), grads=grads,
                     params_after_3_adam_steps={k: flat(v) for k, v in m.state_dict().items()})

with open(os.path.join(here, "golden.json"), "w") as f:
    json.dump(out, f)
print("wrote golden.json with", ", ".join(CASES))
