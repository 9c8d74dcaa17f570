"""SwiftVAE's PyTorch counterpart: the model a config.json describes, built from its block lists.

Parameter names and layouts are SwiftVAE's (which are PyTorch's nn.Sequential names), so a
run folder's model.safetensors loads with `load_run` and the two can be checked against each
other. Used by the golden-fixture scripts and by hand; never in CI (needs torch).

    import vae_model
    model = vae_model.load_run("Output/fmnist-final")     # config.json + model.safetensors
    mu, logvar = model.encode(x)                          # x: (B, C, H, W) in [0, 1]
    nll = model.nll(model.decode(mu), x)                  # per image, nats
"""
import json, math, os
import torch, torch.nn as nn, torch.nn.functional as F
import discretized_logistic


def plain(size, channels, widths, hidden, latent, likelihood="bernoulli", log_scale=math.log(0.1),
          learn_scale=False):
    """The block lists of ModelConfig.plain (Sources/VAE/Model/ModelConfig.swift): the reference family."""
    top = widths[-1] if widths else channels
    bottom = size >> len(widths)
    conv = lambda kind, module, ch, relu: dict(kind=kind, module=module, channels=ch, kernel=4, stride=2, padding=1,
                                               **({"activation": "relu"} if relu else {}))
    enc = [conv("conv", "enc", w, True) for w in widths] + [dict(kind="flatten", module="enc")]
    dec = []
    if hidden:
        enc.append(dict(kind="linear", module="enc_fc", channels=hidden, activation="relu"))
        dec.append(dict(kind="linear", module="dec_fc", channels=hidden, activation="relu"))
    dec.append(dict(kind="linear", module="dec_fc", channels=top * bottom * bottom, activation="relu"))
    dec.append(dict(kind="unflatten", channels=top))
    rev = list(reversed(widths))
    for i, w in enumerate(rev):
        last = i + 1 == len(rev)
        dec.append(conv("deconv", "dec", None if last else rev[i + 1], not last))
    return dict(size=size, channels=channels, latent=latent, encoder=enc, decoder=dec, likelihood=likelihood,
                logScale=log_scale, learnScale=learn_scale)


def resnet(size, channels, widths, hidden, latent, likelihood="bernoulli", log_scale=math.log(0.1),
           learn_scale=False, activation="silu"):
    """The block lists of ModelConfig.resnet (Sources/VAE/Model/ResNetFamily.swift): `vae train --arch resnet`."""
    top = widths[-1] if widths else channels
    bottom = size >> len(widths)
    conv = lambda module, ch, stride, act=None: dict(kind="conv", module=module, channels=ch, kernel=3, stride=stride,
                                                     padding=1, **({"activation": act} if act else {}))
    res = lambda module, ch: dict(kind="residual", module=module, channels=ch, activation=activation)
    enc = []
    for i, w in enumerate(widths):
        if i > 0:
            enc.append(dict(kind=activation, module="enc"))
        enc += [conv("enc", w, 2, activation), res("enc", w)]
    enc += [dict(kind=activation, module="enc"), dict(kind="flatten", module="enc")]
    dec = []
    if hidden:
        enc.append(dict(kind="linear", module="enc_fc", channels=hidden, activation=activation))
        dec.append(dict(kind="linear", module="dec_fc", channels=hidden, activation=activation))
    dec += [dict(kind="linear", module="dec_fc", channels=top * bottom * bottom), dict(kind="unflatten", channels=top),
            res("dec", top)]
    for w in list(reversed(widths))[1:]:
        dec += [dict(kind=activation, module="dec"), dict(kind="upsample", module="dec"), conv("dec", w, 1), res("dec", w)]
    dec += [dict(kind=activation, module="dec"), dict(kind="upsample", module="dec"), conv("dec", None, 1)]
    return dict(size=size, channels=channels, latent=latent, encoder=enc, decoder=dec, likelihood=likelihood,
                logScale=log_scale, learnScale=learn_scale)


ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU}
DEFAULT_MIXTURES = 5  # LogisticMixtureLikelihood.defaultMixtures


def likelihood_channels(cfg):
    """Decoder output channels the likelihood reads: one per image channel, or the logistic mixture's planes."""
    if cfg.get("likelihood", "bernoulli") == "logistic":
        return discretized_logistic.output_channels(cfg["channels"], cfg.get("mixtures") or DEFAULT_MIXTURES)
    return cfg["channels"]


class Residual(nn.Module):
    """x + conv2(act(conv1(act(x)))), 3×3 convolutions keeping the channels: SwiftVAE's ResidualBlock
    (Sources/VAECore/ResidualBlock.swift); parameters conv1.weight, conv1.bias, conv2.weight, conv2.bias."""

    def __init__(self, channels, activation="silu"):
        super().__init__()
        self.act = ACTIVATIONS[activation]()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x):
        return x + self.conv2(self.act(self.conv1(self.act(x))))


class MixturePrior(nn.Module):
    """p(z) = Σₖ softmax(logits)ₖ N(z; meansₖ, diag(exp(2·log_scalesₖ))), learned with the model:
    SwiftVAE's MixturePrior (config.json's "priorMixture"), the same names and layout."""

    def __init__(self, components, latent):
        super().__init__()
        self.means = nn.Parameter(torch.randn(components, latent))
        self.log_scales = nn.Parameter(torch.zeros(components, latent))
        self.logits = nn.Parameter(torch.zeros(components))

    def log_prob(self, z):
        d = (z.unsqueeze(-2) - self.means) * torch.exp(-self.log_scales)
        log_components = -0.5 * d.pow(2).sum(-1) - self.log_scales.sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
        return torch.logsumexp(log_components + F.log_softmax(self.logits, 0), -1)


class Autoregressive(nn.Module):
    """The Bernoulli logits' term over the pixels before each pixel (raster order): SwiftVAE's
    AutoregressiveBernoulliLikelihood (config.json's "autoregressive"), the same names and layout.
    in_weight (hidden, C, taps) holds only the taps before a k×k kernel's centre (mask "A")."""

    def __init__(self, channels, kernel, hidden):
        super().__init__()
        r = kernel // 2
        self.kernel = kernel
        self.taps = [(dy, dx) for dy in range(-r, 1) for dx in range(-r, r + 1) if dy < 0 or dx < 0]
        if hidden == 0:  # linear: the earlier pixels straight to the logits
            self.weight = nn.Parameter(torch.zeros(channels, channels, len(self.taps)))
            return
        self.in_weight = nn.Parameter(torch.randn(hidden, channels, len(self.taps)) * math.sqrt(2 / (channels * len(self.taps))))
        self.in_bias = nn.Parameter(torch.zeros(hidden))
        self.out_weight = nn.Parameter(torch.zeros(channels, hidden))

    def masked_kernel(self):
        k, r = self.kernel, self.kernel // 2
        taps = self.weight if hasattr(self, "weight") else self.in_weight
        w = taps.new_zeros(taps.shape[0], taps.shape[1], k, k)
        for t, (dy, dx) in enumerate(self.taps):
            w[:, :, r + dy, r + dx] = taps[:, :, t]
        return w

    def forward(self, x):
        """The term added to the decoder's logits, from the data x (teacher forcing)."""
        if hasattr(self, "weight"):
            return F.conv2d(x, self.masked_kernel(), padding=self.kernel // 2)
        h = F.relu(F.conv2d(x, self.masked_kernel(), self.in_bias, padding=self.kernel // 2))
        return torch.einsum("ch,bhyx->bcyx", self.out_weight, h)

    @torch.no_grad()
    def fill(self, logits):
        """The mean image from the decoder's logits: pixels in raster order, each from those before."""
        b, c, height, width = logits.shape
        x = logits.new_zeros(b, c, height, width)
        w, r = self.masked_kernel(), self.kernel // 2
        padded = F.pad(x, (r, r, r, 0))
        for y in range(height):
            for xx in range(width):
                window = padded[:, :, y:y + r + 1, xx:xx + 2 * r + 1]
                seen = torch.einsum("bcij,hcij->bh", window, w[:, :, :r + 1])
                term = seen if hasattr(self, "weight") else F.relu(seen + self.in_bias) @ self.out_weight.T
                p = torch.sigmoid(logits[:, :, y, xx] + term)
                padded[:, :, y + r, xx + r] = p
        return padded[:, :, r:, r:width + r]


class BlockVAE(nn.Module):
    """Encoder blocks → mu, logvar heads → z → decoder blocks → likelihood, as SwiftVAE's Network."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.containers = {}
        shape = (cfg["channels"], cfg["size"], cfg["size"])
        self.enc_steps, shape = self._build(cfg["encoder"], shape, cfg["channels"])
        assert len(shape) == 1, "the encoder must end flat"
        self.mu, self.logvar = nn.Linear(shape[0], cfg["latent"]), nn.Linear(shape[0], cfg["latent"])
        self.dec_steps, shape = self._build(cfg["decoder"], (cfg["latent"],), likelihood_channels(cfg))
        assert shape == (likelihood_channels(cfg), cfg["size"], cfg["size"]), shape
        if cfg.get("likelihood", "bernoulli") == "gaussian" and cfg.get("learnScale"):
            self.log_scale = nn.Parameter(torch.tensor([float(cfg["logScale"])]))
        if cfg.get("autoregressive"):
            term = cfg["autoregressive"]
            self.ar = Autoregressive(cfg["channels"], term.get("kernel", 7), term["channels"])
        if cfg.get("priorMixture"):
            self.prior = MixturePrior(cfg["priorMixture"], cfg["latent"])

    def _container(self, name):
        if name not in self.containers:
            self.containers[name] = nn.Sequential()
            self.add_module(name, self.containers[name])
        return self.containers[name]

    def _add(self, module_name, layer):
        """Appends to the named nn.Sequential (for its state_dict name); returns a callable step."""
        if module_name is None:
            return layer
        seq = self._container(module_name)
        seq.append(layer)
        return layer

    def _build(self, blocks, shape, image_channels):
        steps = []
        for i, b in enumerate(blocks):
            kind, out = b["kind"], b.get("channels")
            if out is None and i + 1 == len(blocks):
                out = image_channels
            k, s, p = b.get("kernel", 4), b.get("stride", 2), b.get("padding", 1)
            if kind == "conv":
                layer = nn.Conv2d(shape[0], out, k, s, p)
                shape = (out, (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1)
            elif kind == "deconv":
                layer = nn.ConvTranspose2d(shape[0], out, k, s, p)
                shape = (out, (shape[1] - 1) * s - 2 * p + k, (shape[2] - 1) * s - 2 * p + k)
            elif kind == "linear":
                layer = nn.Linear(shape[0], out)
                shape = (out,)
            elif kind == "flatten":
                layer = nn.Flatten()
                shape = (shape[0] * shape[1] * shape[2],)
            elif kind == "unflatten":
                side = int(round(math.sqrt(shape[0] // out)))
                layer = nn.Unflatten(1, (out, side, side))
                shape = (out, side, side)
            elif kind == "residual":
                assert out is None or out == shape[0], "a residual block keeps its channels"
                layer = Residual(shape[0], b.get("activation") or "silu")
            elif kind == "upsample":
                layer = nn.Upsample(scale_factor=2, mode="nearest")
                shape = (shape[0], 2 * shape[1], 2 * shape[2])
            else:
                layer = ACTIVATIONS[kind]()
            steps.append(self._add(b.get("module"), layer))
            if b.get("activation") and kind != "residual":  # a residual block's activation is inside it
                steps.append(self._add(b.get("module"), ACTIVATIONS[b["activation"]]()))
        return steps, shape

    def encode(self, x):
        for step in self.enc_steps:
            x = step(x)
        mu, logvar = self.mu(x), self.logvar(x)
        bound = self.cfg.get("latentClamp")
        if bound:  # NVAE's soft clamp, as SwiftVAE's LatentClamp: mean to ±b, log σ to ±b
            mu, logvar = bound * torch.tanh(mu / bound), 2 * bound * torch.tanh(logvar / (2 * bound))
        return mu, logvar

    def decode(self, z):
        for step in self.dec_steps:
            z = step(z)
        return z

    def nll(self, out, x):
        """−log p(x | decoder output) per image, in nats."""
        if self.cfg.get("likelihood", "bernoulli") == "logistic":
            return discretized_logistic.nll(out, x, self.cfg.get("mixtures") or DEFAULT_MIXTURES)
        if self.cfg.get("likelihood", "bernoulli") == "bernoulli":
            if hasattr(self, "ar"):
                out = out + self.ar(x)
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(1).sum(1)
        log_scale = self.log_scale if hasattr(self, "log_scale") else torch.tensor(float(self.cfg["logScale"]))
        d = ((x - out) * torch.exp(-log_scale)).flatten(1)
        return (0.5 * d * d + log_scale + 0.5 * math.log(2 * math.pi)).sum(1)

    def mean_image(self, out):
        """E[x | decoder output] as SwiftVAE shows it (Bernoulli and Gaussian likelihoods)."""
        if hasattr(self, "ar"):
            return self.ar.fill(out)
        if self.cfg.get("likelihood", "bernoulli") == "bernoulli":
            return torch.sigmoid(out)
        return out.clamp(0, 1)

    @staticmethod
    def kl(mu, logvar):
        """KL(q(z|x) ‖ N(0, I)) per image, in closed form."""
        return 0.5 * (mu * mu + logvar.exp() - 1 - logvar).sum(1)

    def log_prior(self, z):
        """log p(z) per code under the model's prior: the learned mixture, or N(0, I)."""
        if hasattr(self, "prior"):
            return self.prior.log_prob(z)
        return -0.5 * (z * z + math.log(2 * math.pi)).sum(-1)

    def kl_at(self, mu, logvar, eps):
        """The KL term of the ELBO for z = mu + σ·eps: in closed form for N(0, I); for a learned prior
        log q(z|x) − log p(z) at that z (SwiftVAE's one-sample estimate, Network.klLearnedPrior)."""
        if not hasattr(self, "prior"):
            return self.kl(mu, logvar)
        log_q = -0.5 * (eps * eps + logvar + math.log(2 * math.pi)).sum(1)
        return log_q - self.prior.log_prob(mu + torch.exp(0.5 * logvar) * eps)


def block_lists(cfg):
    """A config.json's model section as block lists (one from before block lists is the plain family)."""
    if "encoder" in cfg:
        return cfg
    return plain(cfg["size"], cfg["channels"], cfg["widths"], cfg.get("hidden"), cfg["latent"],
                 cfg.get("likelihood", "bernoulli"), cfg.get("logScale", math.log(0.1)), cfg.get("learnScale", False))


def load_run(folder):
    """The model of a SwiftVAE run folder, with its weights (needs the safetensors package)."""
    from safetensors.torch import load_file
    with open(os.path.join(folder, "config.json")) as f:
        cfg = block_lists(json.load(f)["model"])
    model = BlockVAE(cfg)
    model.load_state_dict(load_file(os.path.join(folder, "model.safetensors")))
    return model.eval()
