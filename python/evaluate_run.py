"""Evaluates a SwiftVAE run folder's model in PyTorch on the Fashion-MNIST test set: −ELBO and the IWAE bound.

An independent check of `vae evaluate`: the same weights (model.safetensors, loaded by swiftvae.py)
through PyTorch's own layers, loss and log-sum-exp. Needs torch and numpy; run by hand, never in CI.

    python3 python/evaluate_run.py Output/fmnist-final [--k 100]
"""
import argparse, gzip, math, os, struct, sys
import numpy as np, torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swiftvae  # noqa: E402


def load_idx(path):
    with gzip.open(path) as f:
        raw = f.read()
    count, rows, cols = struct.unpack(">III", raw[4:16])
    return torch.from_numpy(np.frombuffer(raw[16:], np.uint8).reshape(count, 1, rows, cols).astype(np.float32) / 255)


def evaluate(model, x_all, k, chunk=500):
    """Per image: −ELBO with one z, and −log of the k-sample importance-weighted bound (IWAE), in nats;
    the estimator of `vae evaluate` (Sources/VAE/Evaluation.swift), with torch's own noise."""
    elbo, iwae = [], []
    with torch.no_grad():
        for i in range(0, len(x_all), chunk):
            x = x_all[i:i + chunk]
            mu, lv = model.encode(x)
            eps = torch.randn_like(mu)
            z = mu + eps * torch.exp(0.5 * lv)
            elbo.append(model.nll(model.output(z), x) + model.kl_at(mu, lv, eps))
            if k == 0:
                continue
            log_w = []
            for _ in range(k):
                eps = torch.randn_like(mu)
                z = mu + eps * torch.exp(0.5 * lv)
                log_pz = model.log_prior(z)
                log_qz = -0.5 * (eps * eps + lv + math.log(2 * math.pi)).sum(1)
                log_w.append(-model.nll(model.output(z), x) + log_pz - log_qz)
            iwae.append(-(torch.logsumexp(torch.stack(log_w, 1), 1) - math.log(k)))
    return torch.cat(elbo), (torch.cat(iwae) if iwae else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--images", default="/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    args = ap.parse_args()
    model = swiftvae.load(args.run)
    torch.set_num_threads(2)
    torch.manual_seed(1)
    elbo, iwae = evaluate(model, load_idx(args.images), args.k)
    print(f"torch test_neg_elbo {elbo.mean().item():.2f} nats")
    print(f"torch test_nll_iwae{args.k} {iwae.mean().item():.2f} nats")


if __name__ == "__main__":
    main()
