"""Writes golden_logistic.json: PyTorch's discretized logistic mixture (NLL, gradient, mean) and whole small
models with it (outputs, loss, every gradient, three Adam steps).

Run by hand (needs torch; never in CI):  python3 Tests/VAETests/Fixtures/make_golden_logistic.py
The likelihood is python/discretized_logistic.py (NVAE's DiscMixLogistic and PixelCNN++'s
discretized_mix_logistic_loss, with the exact inner-bin form); the models come from python/vae_model.py.

- "likelihood" cases: decoder outputs chosen to reach the clamp (log-scales below -7), wide and
  narrow components, means beyond [-1, 1], and targets on levels 0 and 255. The reference is computed
  in float64 from the float32 inputs. Each case also carries PixelCNN++'s own NLL and whether its
  formula is exact for that image (no inner bin with sigmoid difference below 1e-5, where it falls back
  to the mid-bin density); the script checks that the two formulas agree wherever theirs is exact.
- "models" cases: as golden.json (make_golden.py), with the logistic likelihood, computed in float64.
"""
import json, math, os, sys
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "../../../python"))
import discretized_logistic as dl  # noqa: E402
from vae_model import BlockVAE, plain, resnet  # noqa: E402
import golden_case  # noqa: E402


def flat(t):
    """As float32 values, subnormals as 0: the Swift side reads them as Float, and a test thread that
    flushes subnormals (as the compute threads do) cannot parse one."""
    return [float(v) if abs(v) >= 1.1754944e-38 else 0.0 for v in t.detach().float().reshape(-1).tolist()]


def flat64(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def likelihood_case(seed, batch, channels, side, mixtures, scale, log_scales=(-8.5, 0.5)):
    g = torch.Generator().manual_seed(seed)
    K, C = mixtures, channels
    planes = dl.output_channels(C, K)
    out = torch.randn(batch, planes, side, side, generator=g)
    per = 3 if C == 3 else 2
    rest = out[:, K:].view(batch, C, per * K, side, side)
    rest[:, :, :K] = rest[:, :, :K] * 0.8                                                  # means, some beyond ±1
    low, high = log_scales
    rest[:, :, K:2 * K] = torch.rand(batch, C, K, side, side, generator=g) * (high - low) + low
    rest[:, :, K:K + 1, 0, 0] = 2.5                                                        # one very wide component
    out[:, :K] = out[:, :K] * 2                                                            # logits
    levels = torch.randint(0, 256, (batch, C, side, side), generator=g).float()
    levels.view(-1)[::7] = 0
    levels.view(-1)[3::7] = 255
    x = levels / 255
    out64 = out.double().requires_grad_(True)
    nll = dl.nll(out64, x.double(), K)
    (nll.sum() * scale).backward()
    with torch.no_grad():
        lp_pixelcnn, cdf_delta, k = dl.pixelcnn_log_probs(out.double(), x.double(), C, K)
        lp_exact = dl.bin_log_probs(out.double(), x.double(), C, K)
        inner = (k > 0) & (k < 255)
        exact_there = ~inner | (cdf_delta > 1e-5)
        worst = (lp_pixelcnn - lp_exact).abs()[exact_there.expand_as(lp_exact)].max().item()
        # Theirs subtracts two sigmoids, which costs digits as the difference nears 1e-5: 1e-7 nats allows for that.
        assert worst < 1e-7, f"PixelCNN++'s formula and the exact one differ by {worst} where theirs is exact"
        pixelcnn_exact = exact_there.expand_as(lp_exact).flatten(1).all(1)
        pixelcnn_nll = dl.pixelcnn_nll(out.double(), x.double(), K)
        mean = dl.mean(out.double(), C, K)
    print(f"seed {seed}: {int((~exact_there).sum())} inner bins below PixelCNN++'s 1e-5 threshold; "
          f"largest gap there {((lp_pixelcnn - lp_exact).abs()[~exact_there.expand_as(lp_exact)].max().item() if (~exact_there).any() else 0):.3g} nats")
    return dict(batch=batch, channels=C, side=side, mixtures=K, scale=scale, output=flat(out), x=flat(x),
                nll=flat64(nll), gradient=flat(out64.grad), mean=flat(mean), pixelcnn_nll=flat64(pixelcnn_nll),
                pixelcnn_exact=[bool(v) for v in pixelcnn_exact.tolist()])


def model_case(cfg, batch):
    """In float64 from float32 starting values: the logistic's gradient reaches 1/s (up to e^7) per output, and
    PyTorch's float32 sums of it through a residual decoder are off by 2e-3 where SwiftVAE's are within 1e-5."""
    torch.manual_seed(123)
    m = BlockVAE(cfg)
    x = torch.randint(0, 256, (batch, cfg["channels"], cfg["size"], cfg["size"])).float()
    x.view(-1)[::5] = 0
    x.view(-1)[2::5] = 255
    x = (x / 255).double()
    eps = torch.randn(batch, cfg["latent"]).double()
    m = m.double()
    return golden_case.model_case(m, cfg, batch, x, eps, flat=flat)


def with_mixtures(cfg, k):
    cfg["mixtures"] = k
    return cfg


out = dict(
    likelihood=dict(
        rgb_k3=likelihood_case(1, 2, 3, 4, 3, 0.5),
        gray_k2=likelihood_case(2, 3, 1, 5, 2, 1.0),
        rgb_k1=likelihood_case(3, 1, 3, 3, 1, 1.0),
        # Scales where PixelCNN++'s own formula never falls back: its NLL is a second reference.
        rgb_moderate=likelihood_case(4, 2, 3, 4, 2, 1.0, log_scales=(-2.0, 0.5)),
    ),
    models=dict(
        rgb_logistic=model_case(with_mixtures(plain(8, 3, [4, 6], 10, 3, "logistic"), 2), 3),
        gray_logistic=model_case(with_mixtures(plain(8, 1, [4], None, 2, "logistic"), 3), 2),
        resnet_logistic=model_case(with_mixtures(resnet(8, 3, [4, 6], None, 3, "logistic"), 2), 2),
    ),
)
with open(os.path.join(here, "golden_logistic.json"), "w") as f:
    json.dump(out, f)
print("wrote golden_logistic.json")
