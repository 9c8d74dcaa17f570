# peer_evaluate.py: evaluates a SwiftVAE fmnist model.safetensors with the PyTorch peer's own test code (needs torch; by hand, never in CI).
import sys, json, struct, math, importlib.util
import numpy as np, torch
spec = importlib.util.spec_from_file_location("peer", "/work/shared/peers/torch_vae.py")
peer = importlib.util.module_from_spec(spec); spec.loader.exec_module(peer)
path = sys.argv[1]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]; header = json.loads(raw[8:8 + n]); data = raw[8 + n:]
state = {}
for name, info in header.items():
    if name == "__metadata__": continue
    a, b = info["data_offsets"]
    state[name] = torch.from_numpy(np.frombuffer(data[a:b], np.float32).reshape(info["shape"]).copy())
torch.set_num_threads(2)
m = peer.VAE(**peer.CONFIGS["fmnist"]); m.load_state_dict(state); m.eval()
xte = torch.from_numpy(peer.load_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
with torch.no_grad():
    tot = 0.0; torch.manual_seed(1)
    for i in range(0, len(xte), 500):
        x = xte[i:i + 500]; mu, lv = m.encode(x); logits = m.decode(mu + torch.randn_like(mu) * torch.exp(0.5 * lv))
        tot += peer.loss_fn(logits, x, mu, lv).item() * len(x)
    print(f"peer-evaluated test_neg_elbo {tot / len(xte):.2f} nats")
    ll = torch.cat([peer.iwae(m, xte[i:i + 500], 100) for i in range(0, 10000, 500)])
    print(f"peer-evaluated test_nll_iwae100 {-ll.mean().item():.2f} nats")
