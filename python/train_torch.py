"""The PyTorch side of the speed and bits/dim comparison: a vae run's model, trained as vae trains it.

    python3 python/train_torch.py train RUN/config.json DATA/train --test DATA/test --time-limit 8m
    python3 python/train_torch.py speed RUN/config.json [--batch 64] [--steps 50]
    python3 python/train_torch.py check RUN DATA          # vae's weights in torch: −ELBO beside vae evaluate's

`train` builds the model of a config.json (python/vae_model.py, the same block lists and parameter
names) and trains it in fp32 on the CPU with the run's settings (config.json's "training"):
Adam (lr, β 0.9/0.999, ε 1e-8), batch size, β and its KL warm-up, free bits, gradient clipping,
flips, the learning-rate schedule (Sources/VAE/Training/LearningRateSchedule.swift: linear warm-up,
then constant or a half cosine; with a time limit the cosine is laid over the steps the budget is
expected to hold, estimated from the warm-up's pace as vae does), the time budget (seconds of
training steps only, as vae counts them) and the exponential moving average of the weights
(Trainer.swift: decay min(d, (1 + t)/(10 + t)) after update t, from the starting weights), which
is what is validated, evaluated and saved. Each epoch prints a line like vae's: train −ELBO, the
held-out −ELBO, images/s over the epoch's steps. At the end the test folder is evaluated as
`vae evaluate` does: −ELBO with one z and the IWAE-k bound, in nats/image and bits/dim.

What differs from vae, on purpose or by necessity: the random numbers (initial weights drawn by
torch with the same distributions, N(0, 2/fan_in) or ±1/√fan_in; torch's noise, shuffles and
flips instead of vae's Philox streams), and so which images the validation share holds out (the
same count). The weights are saved as safetensors with vae's names (--save).

Images must already be what the model sees, size×size with its channels (RGB or gray PNG/JPEG);
Datasets/split.py and Datasets/noto_emoji.py write such folders, which vae also reads unchanged,
so both tools train and test on the same pixels. Needs torch, numpy and Pillow; run by hand,
never in CI.
"""
import argparse, json, math, os, sys, time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vae_model  # noqa: E402
from evaluate_run import evaluate  # noqa: E402
from swiftvae import SwiftVAE, read_safetensors  # noqa: E402

EXTENSIONS = (".png", ".jpg", ".jpeg")
NO_EPOCH_CAP = 1_000_000   # TrainOptions.noEpochCap


def duration(text):
    """Seconds of '8m', '228s', '1h30m' (vae's --time-limit), or of a plain number of seconds."""
    total, number = 0.0, ""
    for c in text.lower().replace(" ", ""):
        if c.isdigit() or c == ".":
            number += c
        elif c in "hms" and number:
            total, number = total + float(number) * {"h": 3600, "m": 60, "s": 1}[c], ""
        else:
            raise argparse.ArgumentTypeError(f"'{text}' is not a duration such as 228s, 8m or 1h30m")
    return total + (float(number) if number else 0.0)


def load_images(folder, size, channels):
    """Every image under `folder` (sorted paths) as uint8 (N, C, H, W); refuses any that is not already
    size×size with the model's channels, so no tool resizes or converts differently."""
    mode = {1: "L", 3: "RGB"}[channels]
    paths = sorted(os.path.join(root, f) for root, _, files in os.walk(folder) for f in files
                   if f.lower().endswith(EXTENSIONS))
    if not paths:
        sys.exit(f"train_torch.py: {folder}: no PNG or JPEG images found")
    out = np.empty((len(paths), channels, size, size), np.uint8)
    for i, path in enumerate(paths):
        with Image.open(path) as im:
            if im.size != (size, size) or im.mode != mode:
                sys.exit(f"train_torch.py: {path} is {im.size[0]}x{im.size[1]} {im.mode}, not {size}x{size} {mode}: "
                         "prepare the folder with Datasets/split.py")
            a = np.asarray(im)
        out[i] = a[None] if channels == 1 else a.transpose(2, 0, 1)
    return torch.from_numpy(out)


def as_floats(images):
    """uint8 → floats k/255 in [0, 1], as vae's ImageDataset.gather."""
    return images.float() * (1 / 255)


def bits_per_dim(nats, cfg):
    """vae's LikelihoodKind.bitsPerDimension: −log₂ P of the 8-bit data (Gaussian with the ln 255 correction)."""
    dims = cfg["channels"] * cfg["size"] * cfg["size"]
    correction = math.log(255) if cfg.get("likelihood", "bernoulli") == "gaussian" else 0.0
    return (nats + dims * correction) / (dims * math.log(2))


def initialize(model, kind):
    """vae's Network.initialize with torch's random numbers: kaiming N(0, 2/fan_in) weights and zero biases,
    or pytorch ±1/√fan_in for both; fan_in as vae's (a weight's elements per output, [1:] of its shape)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                fan_in = m.weight[0].numel()
                if kind == "pytorch":
                    bound = 1 / math.sqrt(fan_in)
                    m.weight.uniform_(-bound, bound)
                    m.bias.uniform_(-bound, bound)
                else:
                    m.weight.normal_(0, math.sqrt(2 / fan_in))
                    m.bias.zero_()


class Schedule:
    """vae's TrainingSchedule and LearningRateSchedule: the learning rate and β of step s (0-based), and
    for a time-limited cosine the total steps estimated once the warm-up is done (StepEstimate)."""

    def __init__(self, training, time_limit, steps_per_epoch, epochs):
        rate = training.get("schedule") or {"kind": "constant", "warmupSteps": 0}
        self.kind = rate["kind"]
        self.peak, self.beta = training["learningRate"], training.get("beta", 1.0)
        self.kl_warmup = training.get("klWarmupSteps") or 0
        self.time_limit = time_limit
        self.cap = epochs * steps_per_epoch
        known = None if time_limit else self.cap
        self.warmup = rate.get("warmupSteps")
        if self.warmup is None:   # LearningRateSchedule.defaultWarmup
            self.warmup = min(100, max(1, known // 10) if known else 100) if self.kind == "cosine" else 0
        # A time-limited run estimates its own total from its own pace; vae's estimate is not torch's.
        self.total = known if self.kind == "cosine" else None
        self.estimate = None

    def factor(self, step):
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.kind != "cosine" or self.total is None or self.total <= self.warmup:
            return 1.0
        progress = min(1.0, (step - self.warmup) / (self.total - self.warmup))
        return 0.5 * (1 + math.cos(math.pi * progress))

    def learning_rate(self, step):
        return self.peak * self.factor(step)

    def beta_at(self, step):
        return self.beta * step / self.kl_warmup if self.kl_warmup > 0 and step < self.kl_warmup else self.beta

    def after_step(self, steps, seconds):
        """TrainingLoop.estimateTotalSteps: once `steps` ≥ the warm-up, total = steps + ⌊(budget − seconds)·pace⌋."""
        if self.time_limit is None or self.kind != "cosine" or self.total is not None or steps < self.warmup:
            return None
        more = min(1e9, max(1, math.floor((self.time_limit - seconds) * steps / max(seconds, 1e-9))))
        self.total = min(steps + int(more), self.cap)
        self.estimate = (steps, seconds)
        return f"time limit {self.time_limit:g} s: {steps} steps took {seconds:.1f} s, so the learning rate's cosine " \
               f"is laid over {self.total} steps"

    def spent(self, steps, seconds):
        """TrainingLoop.budgetSpent."""
        return self.time_limit is not None and (seconds >= self.time_limit or (self.total is not None and steps >= self.total))


class Trainer:
    """One step as vae's Trainer.step: loss = mean NLL + β·KL (free bits: Σ_j max(λ, mean KL_j)), the update
    skipped when the loss or gradient norm is not finite or (skipSpikes) a spike, optional clipping, Adam, then the
    weight average."""

    def __init__(self, model, training):
        self.model = model
        self.params = [p for p in model.parameters()]
        self.adam = torch.optim.Adam(self.params, lr=training["learningRate"], betas=(0.9, 0.999), eps=1e-8)
        self.clip = training.get("clipNorm")
        self.free_bits = training.get("freeBits")
        self.decay = training.get("averageDecay") or 0.0
        self.average = [p.detach().clone() for p in self.params] if self.decay > 0 else None
        self.updates = 0
        # SpikeGuard: skip a step whose norm is above skipSpikes × the running geometric mean of the
        # applied steps' norms, once 100 applied steps have been measured.
        self.skip = training.get("skipSpikes")
        self.log_usual, self.tracked = None, 0

    def step(self, x, lr, beta):
        for group in self.adam.param_groups:
            group["lr"] = lr
        mu, logvar = self.model.encode(x)
        eps = torch.randn_like(mu)
        z = mu + eps * torch.exp(0.5 * logvar)
        rec = self.model.nll(self.model.output(z), x)
        kl_terms = 0.5 * (mu * mu + logvar.exp() - 1 - logvar)     # (B, latent)
        kl = self.model.kl_at(mu, logvar, eps)                    # closed form, or at z for a learned prior
        if self.free_bits:
            # clamp passes no gradient below the floor: Network+FreeBits' dropKLGradient.
            kl_loss = torch.clamp(kl_terms.mean(0), min=self.free_bits).sum()
        else:
            kl_loss = kl.mean()
        loss = rec.mean() + beta * kl_loss
        self.adam.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.params, self.clip if self.clip else float("inf"))
        applied = bool(torch.isfinite(loss)) and bool(torch.isfinite(norm))
        if applied and self.skip and self.tracked >= 100 and float(norm) > self.skip * math.exp(self.log_usual):
            applied = False
        if applied and self.skip and float(norm) > 0:
            x = math.log(float(norm))
            self.log_usual = x if self.log_usual is None else self.log_usual + 0.01 * (x - self.log_usual)
            self.tracked += 1
        if applied:
            self.adam.step()
            self.updates += 1
            if self.average is not None:
                t = self.updates
                decay = min(self.decay, (1 + t) / (10 + t))
                with torch.no_grad():
                    torch._foreach_lerp_(self.average, [p.detach() for p in self.params], 1 - decay)
        return rec.detach(), kl.detach(), applied

    def averaged_model(self):
        """The model with the averaged weights (what vae validates and saves); the training weights untouched."""
        if self.average is None:
            return self.model
        twin = SwiftVAE(self.model.cfg)
        with torch.no_grad():
            for p, a in zip(twin.parameters(), self.average):
                p.copy_(a)
        return twin.eval()


def split_validation(count, fraction, seed):
    """vae's ImageBatches.split in size (round(N·fraction), at least 1, at most N − 1) with torch's choice."""
    if fraction <= 0 or count < 2:
        return torch.arange(count), torch.arange(0)
    n = min(count - 1, max(1, round(count * fraction)))
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    return order[n:].sort().values, order[:n].sort().values


def train(args):
    with open(args.config) as f:
        run = json.load(f)
    cfg, training = vae_model.block_lists(run["model"]), dict(run.get("training") or {})
    for key, value, default in (("batch", args.batch, 64), ("learningRate", args.lr, 1e-3), ("seed", args.seed, 0)):
        training[key] = value if value is not None else training.get(key, default)
    time_limit = args.time_limit if args.time_limit is not None else training.get("timeLimit")
    if args.epochs:
        epochs = args.epochs
    elif args.time_limit is not None:
        epochs = NO_EPOCH_CAP
    else:   # the run's: with its time limit, vae saved no cap (or the --epochs that capped it too)
        epochs = training.get("epochs", 10)
    torch.set_num_threads(args.threads)
    torch.manual_seed(training["seed"])
    images = load_images(args.data, cfg["size"], cfg["channels"])
    test = load_images(args.test, cfg["size"], cfg["channels"]) if args.test else None
    fraction = args.val_fraction if args.val_fraction is not None else training.get("validationFraction", 0.05)
    train_idx, val_idx = split_validation(len(images), fraction, training["seed"])
    batch = training["batch"]
    steps_per_epoch = (len(train_idx) + batch - 1) // batch
    schedule = Schedule(training, time_limit, steps_per_epoch, epochs)
    # SwiftVAE: BlockVAE with output(z) (the likelihood's parameters), which evaluate_run.evaluate reads.
    model = SwiftVAE(cfg)
    initialize(model, cfg.get("initialization", "kaiming"))
    model.train()
    trainer = Trainer(model, training)
    flips = bool(training.get("flip"))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__} fp32, {args.threads} threads: {n_params:,} parameters, {len(train_idx)} training "
          f"images ({len(val_idx)} held out), batch {batch}, lr {training['learningRate']:g} ({schedule.kind}, "
          f"warm-up {schedule.warmup} steps)" + (f", time limit {time_limit:g} s" if time_limit else f", {epochs} epochs")
          + (", flips" if flips else "") + (f", free bits {training['freeBits']}" if training.get("freeBits") else "")
          + (f", KL warm-up {schedule.kl_warmup} steps" if schedule.kl_warmup else ""))
    step, seconds, total_images, bad_in_a_row = 0, 0.0, 0, 0
    generator = torch.Generator().manual_seed(training["seed"] + 1)
    for epoch in range(epochs):
        order = train_idx[torch.randperm(len(train_idx), generator=generator)]
        start, done, rec_sum, kl_sum, counted, skipped = time.perf_counter(), 0, 0.0, 0.0, 0, 0
        for b in range(steps_per_epoch):
            x = as_floats(images[order[b * batch:(b + 1) * batch]])
            if flips:
                mirrored = torch.rand(len(x), generator=generator) < 0.5
                x[mirrored] = x[mirrored].flip(3)
            rec, kl, applied = trainer.step(x, schedule.learning_rate(step), schedule.beta_at(step))
            step += 1
            done += len(x)
            if applied:
                rec_sum, kl_sum, counted = rec_sum + rec.sum().item(), kl_sum + kl.sum().item(), counted + len(x)
                bad_in_a_row = 0
            else:
                skipped, bad_in_a_row = skipped + 1, bad_in_a_row + 1
                if bad_in_a_row >= training.get("maxBadSteps", 3):   # TrainingLoop's stop
                    sys.exit(f"train_torch.py: stopping at step {step}: {bad_in_a_row} steps in a row were not finite")
            elapsed = time.perf_counter() - start
            note = schedule.after_step(step, seconds + elapsed)
            if note:
                print(note, flush=True)
            if schedule.spent(step, seconds + elapsed):
                break
        epoch_seconds = time.perf_counter() - start
        seconds += epoch_seconds
        total_images += done
        mean = (rec_sum + kl_sum) / counted if counted else float("nan")
        line = f"epoch {epoch + 1}  train -ELBO {mean:.2f} nats ({bits_per_dim(mean, cfg):.4f} bits/dim)"
        if len(val_idx):
            with torch.random.fork_rng():   # the training noise goes on as if nothing were drawn here
                torch.manual_seed(training["seed"])
                v, _ = evaluate(trainer.averaged_model(), as_floats(images[val_idx]), 0, args.chunk)
            line += f"  val -ELBO {v.mean().item():.2f} nats ({bits_per_dim(v.mean().item(), cfg):.4f} bits/dim)"
        line += f"  {done / epoch_seconds:.0f} img/s  {seconds:.1f} s  lr {schedule.learning_rate(step - 1):.3g}"
        line += f"  ({skipped} steps skipped)" if skipped else ""
        line += "  (time limit reached)" if schedule.spent(step, seconds) else ""
        print(line, flush=True)
        if schedule.spent(step, seconds):
            break
    print(f"trained {step} steps, {total_images} images in {seconds:.1f} s of steps: {total_images / seconds:.1f} img/s")
    final = trainer.averaged_model()
    if args.save:
        write_safetensors(final.state_dict(), args.save)
        print(f"weights (averaged) saved to {args.save}")
    if test is not None:
        report(final, test, cfg, args.k, args.chunk, training["seed"], args.test)


def report(model, images, cfg, k, chunk, seed, name):
    """vae evaluate's figures: −ELBO and the IWAE-k bound, nats per image and bits/dim."""
    start = time.perf_counter()
    with torch.random.fork_rng():
        torch.manual_seed(seed + 1)
        elbo, iwae = evaluate(model, as_floats(images), k, chunk)
    e = elbo.mean().item()
    print(f"test {name}: {len(images)} images, evaluated in {time.perf_counter() - start:.0f} s")
    print(f"  -ELBO          {e:.2f} nats  ({bits_per_dim(e, cfg):.4f} bits/dim)")
    if iwae is not None:
        w = iwae.mean().item()
        print(f"  IWAE k={k:<6d} {w:.2f} nats  ({bits_per_dim(w, cfg):.4f} bits/dim)")


def write_safetensors(tensors, path):
    """float32 tensors in safetensors' layout (8-byte header length, JSON header, data), as vae writes them."""
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def speed(args):
    """vae bench's two lines for the torch model: training steps (as `train` takes them, weight average
    included) after 5 warm-up steps, then inference (encode, decode the means) after 3, on a random batch."""
    with open(args.config) as f:
        run = json.load(f)
    cfg = vae_model.block_lists(run.get("model", run))
    training = dict(run.get("training") or {})
    batch = args.batch or training.get("batch") or 64
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = SwiftVAE(cfg)
    initialize(model, cfg.get("initialization", "kaiming"))
    training.setdefault("learningRate", 1e-3)
    training["averageDecay"] = training.get("averageDecay", 0.99)
    trainer = Trainer(model, training)
    x = torch.rand(batch, cfg["channels"], cfg["size"], cfg["size"])
    flops = 2 * multiply_adds(model, cfg)
    for _ in range(5):
        trainer.step(x, 1e-4, 1.0)
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.step(x, 1e-4, 1.0)
    train_rate = args.steps * batch / (time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        for _ in range(3):
            model.output(model.encode(x)[0])
        start = time.perf_counter()
        for _ in range(args.steps):
            model.output(model.encode(x)[0])
        infer_rate = args.steps * batch / (time.perf_counter() - start)
    print(f"train_images_per_s {train_rate:.1f} img/s (torch {torch.__version__} fp32 {args.config}, batch {batch}, "
          f"threads {args.threads}) {3 * flops * train_rate / 1e9:.1f} GFLOP/s")
    print(f"infer_images_per_s {infer_rate:.1f} img/s {flops * infer_rate / 1e9:.1f} GFLOP/s")
    print(f"params {sum(p.numel() for p in model.parameters())}")


def multiply_adds(model, cfg):
    """Multiply-adds of one image's forward pass (encode, decode) in the convolutions and linear layers,
    counted as vae's Network.forwardMultiplyAdds does: output elements × (inputs per output)."""
    total = [0]

    def hook(m, inputs, out):
        if isinstance(m, torch.nn.ConvTranspose2d):   # each input element × out_channels·k·k
            total[0] += inputs[0][0].numel() * m.weight[0].numel()
        else:                                          # each output element × weights per output
            total[0] += out[0].numel() * m.weight[0].numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))]
    with torch.no_grad():
        model.output(model.encode(torch.zeros(1, cfg["channels"], cfg["size"], cfg["size"]))[0])
    for h in handles:
        h.remove()
    return total[0]


def check(args):
    """A vae run's weights in torch, on a folder of prepared images: the figures of `vae evaluate` on the same
    folder (the same weights, pixels and estimator; only the noise differs). The mean KL has no noise and must
    agree to rounding; for −ELBO the spread of its mean over --repeats draws of z says what "within noise" is."""
    with open(os.path.join(args.run, "config.json")) as f:
        cfg = vae_model.block_lists(json.load(f)["model"])
    torch.set_num_threads(args.threads)
    model = SwiftVAE(cfg)
    model.load_state_dict(read_safetensors(os.path.join(args.run, "model.safetensors")))
    model.eval()
    images = load_images(args.data, cfg["size"], cfg["channels"])
    with torch.no_grad():
        mu, logvar = model.encode(as_floats(images))
        print(f"mean KL {model.kl(mu, logvar).mean().item():.6f} nats (no noise: vae evaluate's must match)")
    means = []
    for r in range(args.repeats):
        torch.manual_seed(100 + r)
        means.append(evaluate(model, as_floats(images), 0, args.chunk)[0].mean().item())
    m = sum(means) / len(means)
    sd = math.sqrt(sum((v - m) ** 2 for v in means) / max(1, len(means) - 1))
    print(f"-ELBO over {args.repeats} draws of z: mean {m:.2f} nats, sd of one draw's mean {sd:.2f} "
          f"(range {min(means):.2f}–{max(means):.2f})")
    report(model, images, cfg, args.k, args.chunk, 0, args.data)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a config.json's model on a folder, then evaluate a test folder")
    t.add_argument("config", help="a vae run's config.json (model and training settings)")
    t.add_argument("data", help="folder of training images, already size×size")
    t.add_argument("--test", help="folder of test images to evaluate at the end")
    t.add_argument("--time-limit", type=duration, help="seconds of training steps, e.g. 8m (default: the run's)")
    t.add_argument("--epochs", type=int, help="epochs (default: the run's; with a time limit, no cap)")
    t.add_argument("--batch", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--val-fraction", type=float, help="share held out for the epoch lines (default: the run's)")
    t.add_argument("--save", help="write the averaged weights here (safetensors, vae's names)")
    s = sub.add_parser("speed", help="training and inference images/s, printed as vae bench prints them")
    s.add_argument("config", help="a config.json, or a model file as vae train --model reads it")
    s.add_argument("--batch", type=int, help="default: the run's, or 64")
    s.add_argument("--steps", type=int, default=50)
    c = sub.add_parser("check", help="a vae run's weights evaluated in torch on a folder of prepared images")
    c.add_argument("run")
    c.add_argument("data")
    c.add_argument("--repeats", type=int, default=10, help="draws of z for the spread of −ELBO")
    for q in (t, s, c):
        q.add_argument("--threads", type=int, default=2)
    for q in (t, c):
        q.add_argument("--k", type=int, default=100, help="importance samples for the IWAE bound (0: none)")
        q.add_argument("--chunk", type=int, default=64, help="images evaluated at once")
    args = p.parse_args()
    {"train": train, "speed": speed, "check": check}[args.command](args)


if __name__ == "__main__":
    main()
