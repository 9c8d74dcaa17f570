"""The discretized logistic mixture likelihood in PyTorch, as SwiftVAE's LogisticMixtureLikelihood.

Follows NVAE's DiscMixLogistic (NVlabs/NVAE, distributions.py) and PixelCNN++'s
discretized_mix_logistic_loss (openai/pixel-cnn, pixel_cnn_pp/nn.py): the decoder output (B, C', H, W)
holds K mixture logits, then per image channel K means, K log-scales (clamped below at -7) and, for
RGB, K coefficients (tanh) by which G depends on R and B on R and G. Targets x in [0, 1] stand for
the levels k = round(255 x), bin centres 2k/255 - 1 in [-1, 1], half-width 1/255; levels 0 and 255
take the tails.

One difference from both, on purpose: an inner bin's log-probability is computed as
    log sigmoid(a) + log sigmoid(-b) + log(1 - exp(-(a - b)))
which equals log(sigmoid(a) - sigmoid(b)) exactly and stays accurate where that difference
underflows, so the mid-bin density fallback (PixelCNN++'s cdf_delta < 1e-5 branch) is not needed.
`pixelcnn_log_probs` keeps their formula for comparison.
"""
import math
import torch
import torch.nn.functional as F

MIN_LOG_SCALE = -7.0


def output_channels(channels, mixtures):
    return mixtures * (1 + channels * (3 if channels == 3 else 2))


def unpack(out, channels, mixtures):
    """logits (B, K, H, W); means, log_scales, coeffs (B, C, K, H, W) (coeffs None for gray); log-scales unclamped."""
    B, _, H, W = out.shape
    K = mixtures
    logits = out[:, :K]
    per = 3 if channels == 3 else 2
    rest = out[:, K:].reshape(B, channels, per * K, H, W)
    coeffs = torch.tanh(rest[:, :, 2 * K:3 * K]) if channels == 3 else None
    return logits, rest[:, :, :K], rest[:, :, K:2 * K], coeffs


def levels(x):
    """[0, 1] values -> (bin centres in [-1, 1], level indices), both (B, C, 1, H, W)."""
    k = torch.clamp(torch.round(x * 255), 0, 255)
    return (k * (2 / 255) - 1).unsqueeze(2), k.unsqueeze(2)


def component_means(means, coeffs, centres):
    """Means with the RGB dependence on the pixel's own earlier channels (NVAE's mean1..mean3)."""
    if coeffs is None:
        return means
    m0 = means[:, 0]
    m1 = means[:, 1] + coeffs[:, 0] * centres[:, 0]
    m2 = means[:, 2] + coeffs[:, 1] * centres[:, 0] + coeffs[:, 2] * centres[:, 1]
    return torch.stack([m0, m1, m2], 1)


def log1mexp(d):
    """log(1 - exp(-d)) for d > 0 (Maechler's two branches). Each branch gets only the d it is meant for
    (1 elsewhere): torch.where's backward multiplies the unused branch's gradient by 0, and 0 · ∞ is NaN,
    which log1p(-exp(-d)) gives for a tiny d (a wide logistic, as a fresh decoder's can be)."""
    small = d < math.log(2)
    one = torch.ones_like(d)
    return torch.where(small, torch.log(-torch.expm1(-torch.where(small, d, one))),
                       torch.log1p(-torch.exp(-torch.where(small, one, d))))


def bin_log_probs(out, x, channels, mixtures):
    """log P(level | component) per channel: (B, C, K, H, W), with the exact form for inner bins."""
    logits, means, log_scales, coeffs = unpack(out, channels, mixtures)
    centres, k = levels(x)
    m = component_means(means, coeffs, centres)
    log_scales = torch.clamp(log_scales, min=MIN_LOG_SCALE)
    inv_stdv = torch.exp(-log_scales)
    centred = centres - m
    plus_in = inv_stdv * (centred + 1. / 255)     # a
    min_in = inv_stdv * (centred - 1. / 255)      # b
    log_cdf_plus = F.logsigmoid(plus_in)          # log sigmoid(a): level 0
    log_one_minus_cdf_min = F.logsigmoid(-min_in)  # log sigmoid(-b): level 255
    inner = log_cdf_plus + log_one_minus_cdf_min + log1mexp(plus_in - min_in)
    return torch.where(k == 0, log_cdf_plus, torch.where(k == 255, log_one_minus_cdf_min, inner))


def nll(out, x, mixtures):
    """-log p(x | out) per image, in nats."""
    channels = x.shape[1]
    logits = out[:, :mixtures]
    log_probs = bin_log_probs(out, x, channels, mixtures).sum(1) + F.log_softmax(logits, dim=1)  # B, K, H, W
    return -torch.logsumexp(log_probs, dim=1).flatten(1).sum(1)


def pixelcnn_log_probs(out, x, channels, mixtures):
    """PixelCNN++'s per-channel log-probabilities, their formula (sigmoid difference, mid-bin fallback)."""
    logits, means, log_scales, coeffs = unpack(out, channels, mixtures)
    centres, k = levels(x)
    m = component_means(means, coeffs, centres)
    log_scales = torch.clamp(log_scales, min=MIN_LOG_SCALE)
    centred = centres - m
    inv_stdv = torch.exp(-log_scales)
    plus_in = inv_stdv * (centred + 1. / 255.)
    cdf_plus = torch.sigmoid(plus_in)
    min_in = inv_stdv * (centred - 1. / 255.)
    cdf_min = torch.sigmoid(min_in)
    log_cdf_plus = plus_in - F.softplus(plus_in)
    log_one_minus_cdf_min = -F.softplus(min_in)
    cdf_delta = cdf_plus - cdf_min
    mid_in = inv_stdv * centred
    log_pdf_mid = mid_in - log_scales - 2. * F.softplus(mid_in)
    mid = torch.where(cdf_delta > 1e-5, torch.log(torch.clamp(cdf_delta, min=1e-12)), log_pdf_mid - math.log(127.5))
    return torch.where(k == 0, log_cdf_plus, torch.where(k == 255, log_one_minus_cdf_min, mid)), cdf_delta, k


def pixelcnn_nll(out, x, mixtures):
    lp, _, _ = pixelcnn_log_probs(out, x, x.shape[1], mixtures)
    return -torch.logsumexp(lp.sum(1) + F.log_softmax(out[:, :mixtures], dim=1), dim=1).flatten(1).sum(1)


def mean(out, channels, mixtures):
    """E[x | out] in [0, 1]: per component the logistic's mean clamped to [-1, 1] (the edge bins take the
    tails), G and B from the component's expectations of R and G; mixed by the softmax weights."""
    logits, means, log_scales, coeffs = unpack(out, channels, mixtures)
    s = torch.exp(torch.clamp(log_scales, min=MIN_LOG_SCALE))

    def clamped(m, s):
        return -1 + s * (F.softplus((m + 1) / s) - F.softplus((m - 1) / s))

    e0 = clamped(means[:, 0], s[:, 0])
    if coeffs is None:
        e = e0.unsqueeze(1)
    else:
        e1 = clamped(means[:, 1] + coeffs[:, 0] * e0, s[:, 1])
        e2 = clamped(means[:, 2] + coeffs[:, 1] * e0 + coeffs[:, 2] * e1, s[:, 2])
        e = torch.stack([e0, e1, e2], 1)
    weights = torch.softmax(logits, dim=1).unsqueeze(1)
    return torch.clamp(((weights * e).sum(2) + 1) / 2, 0, 1)
