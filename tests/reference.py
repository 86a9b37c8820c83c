"""Hand-written references: loops and NumPy straight from the equations, shared by the tests and the
benchmarks. Slow on purpose; each is what the vectorized hcl code must equal."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def masked_stats_loop(x: torch.Tensor, region: torch.Tensor, eps: float = 1e-5):
    """μ_R, σ_R of B×C×H×W over the weights B×1×H×W, one sample and channel at a time."""
    batch, channels = x.shape[:2]
    mean = torch.zeros(batch, channels, 1, 1, dtype=torch.float64)
    std = torch.ones(batch, channels, 1, 1, dtype=torch.float64)
    for b in range(batch):
        w = region[b, 0].double()
        if float(w.sum()) <= 1e-6:
            continue
        for c in range(channels):
            values = x[b, c].double()
            mu = float((values * w).sum() / w.sum())
            var = float(((values - mu) ** 2 * w).sum() / w.sum())
            mean[b, c] = mu
            std[b, c] = math.sqrt(var + eps)
    return mean, std


def region_cells_loop(region: torch.Tensor, factor: int) -> set[tuple[int, int]]:
    """Cells whose factor×factor block is at least half inside ``region`` (H×W)."""
    height, width = region.shape
    return {(r, c) for r in range(height // factor) for c in range(width // factor)
            if float(region[r * factor:(r + 1) * factor, c * factor:(c + 1) * factor].float().mean()) >= 0.5}


def crop_loop(sampling_map: torch.Tensor, cells, window: int = 8) -> torch.Tensor:
    """One image's C×h×w map, cells K×2 → K×(C·window²), zeros outside the map."""
    channels, height, width = sampling_map.shape
    out = torch.zeros(len(cells), channels, window, window, dtype=sampling_map.dtype)
    for n, (row, col) in enumerate(cells):
        for i in range(window):
            for j in range(window):
                r, c = row - window // 2 + i, col - window // 2 + j
                if 0 <= r < height and 0 <= c < width:
                    out[n, :, i, j] = sampling_map[:, r, c]
    return out.flatten(1)


def colour_moments_loop(patch: torch.Tensor, weights: torch.Tensor, channels: int = 3, eps: float = 1e-6,
                        with_std: bool = True):
    """One window: per channel, the weighted mean and std of the region colour ``patch / weights``."""
    values = patch.double().view(channels, -1)
    w = weights.double().view(-1)
    out_mean, out_std = [], []
    for c in range(channels):
        colour = [float(values[c, p]) / max(float(w[p]), eps) for p in range(len(w))]
        total = max(float(w.sum()), eps)
        mean = sum(float(w[p]) * colour[p] for p in range(len(w))) / total
        var = sum(float(w[p]) * (colour[p] - mean) ** 2 for p in range(len(w))) / total
        out_mean.append(mean)
        out_std.append(math.sqrt(var + eps))
    return torch.tensor(out_mean + (out_std if with_std else []), dtype=torch.float64)


def infonce_loop(query, positive, negatives, tau: float, exclude_self: bool = False) -> float:
    """−(1/K) Σ_i log e^{q_i·p_i/τ} / (e^{q_i·p_i/τ} + Σ_k e^{q_i·n_k/τ}) for one image (K×D each;
    positive may be 1×D, shared by every query)."""
    k = len(query)
    total = 0.0
    for i in range(k):
        p = positive[i] if len(positive) == k else positive[0]
        numerator = math.exp(float(query[i] @ p) / tau)
        denominator = numerator + sum(math.exp(float(query[i] @ negatives[j]) / tau)
                                      for j in range(len(negatives)) if not (exclude_self and j == i))
        total += -math.log(numerator / denominator)
    return total / k


def _standardized(mlp):
    def embed(windows):
        rows = []
        for w in windows:
            centred = w - w.sum() / w.numel()
            rows.append(centred / ((centred ** 2).sum() / w.numel() + (5 / 255) ** 2).sqrt())
        return mlp(torch.stack(rows))
    return embed


@torch.no_grad()
def reading_loss_loop(reading: str, embed, key_embed, harmonized, target, composite, mask, negative_cells,
                      positive_cells, tau: float, factor: int = 4, window: int = 8,
                      standardize: bool = False) -> list[float]:
    """L_HCL per image for one reading, with loops over images and patches (see hcl.contrastive).
    ``standardize``: each raw window becomes (w − mean(w)) / sqrt(var(w) + (5/255)²) before the MLP."""
    losses = []
    if standardize and reading not in ("style", "colour"):
        embed, key_embed = _standardized(embed), _standardized(key_embed)
    for b in range(harmonized.shape[0]):
        m = mask[b:b + 1].double()
        fg_map = F.avg_pool2d(harmonized[b:b + 1].double() * m, factor)[0]
        bg_map = F.avg_pool2d(target[b:b + 1].double() * (1 - m), factor)[0]
        neg_cells = [tuple(c) for c in negative_cells[b].tolist()]
        pos_cells = [tuple(c) for c in positive_cells[b].tolist()]
        fg_windows = crop_loop(fg_map, neg_cells, window)
        bg_windows = crop_loop(bg_map, pos_cells, window)
        moments = reading in ("style", "colour")
        with_std = reading == "style"
        if moments:
            fg_weights = crop_loop(F.avg_pool2d(m, factor)[0], neg_cells, window)
            bg_weights = crop_loop(F.avg_pool2d(1 - m, factor)[0], pos_cells, window)
            fg_windows = torch.stack([colour_moments_loop(p, w, with_std=with_std) for p, w in zip(fg_windows, fg_weights)])
            bg_windows = torch.stack([colour_moments_loop(p, w, with_std=with_std) for p, w in zip(bg_windows, bg_weights)])
        negatives = F.normalize(embed(fg_windows), dim=-1)
        if reading == "literal":
            positives = F.normalize(embed(bg_windows), dim=-1)
            losses.append(infonce_loop(positives, positives, negatives, tau))
        elif reading == "spread":
            positives = F.normalize(embed(bg_windows), dim=-1)
            losses.append(infonce_loop(negatives, positives, negatives, tau, exclude_self=True))
        else:
            comp_map = F.avg_pool2d(composite[b:b + 1].double() * m, factor)[0]
            comp_windows = crop_loop(comp_map, neg_cells, window)
            if moments:
                comp_windows = torch.stack([colour_moments_loop(p, w, with_std=with_std)
                                            for p, w in zip(comp_windows, fg_weights)])
            keys = F.normalize(key_embed(comp_windows), dim=-1)
            mean_background = F.normalize(F.normalize(key_embed(bg_windows), dim=-1).mean(0, keepdim=True), dim=-1)
            losses.append(infonce_loop(negatives, mean_background, keys, tau))
    return losses


def ssim_loop(pred: torch.Tensor, target: torch.Tensor) -> list[float]:
    """scikit-image's SSIM (the paper's protocol) image by image."""
    from skimage.metrics import structural_similarity

    out = []
    for p, t in zip(pred, target):
        a = t.permute(1, 2, 0).double().numpy() * 255
        b = p.permute(1, 2, 0).double().numpy() * 255
        out.append(structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                         data_range=255, channel_axis=2))
    return out


def dilate_numpy(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)² square with scipy."""
    from scipy import ndimage

    return ndimage.binary_dilation(mask, structure=np.ones((2 * radius + 1, 2 * radius + 1), bool))


def _psi_loop(x: torch.Tensor, condition, affine) -> torch.Tensor:
    """ψ(x) = (1 + f_s(c))·x + f_b(c) (Eqs. 6–7) in float64, from the layer weights alone. ``condition``: a B×D
    vector per image (one scale and bias per channel), or None for Eqs. (6)–(7) as printed: f_s, f_b read
    the C values of x at each pixel (1×1 convolutions)."""
    w_s, b_s = affine.scale.weight.double().reshape(affine.scale.weight.shape[0], -1), affine.scale.bias.double()
    w_b, b_b = affine.bias.weight.double().reshape(affine.bias.weight.shape[0], -1), affine.bias.bias.double()
    x = x.double()
    out = torch.empty_like(x)
    for b in range(x.shape[0]):
        if condition is not None:
            c = condition[b].double()
            out[b] = (1 + w_s @ c + b_s)[:, None, None] * x[b] + (w_b @ c + b_b)[:, None, None]
            continue
        for row in range(x.shape[2]):
            for col in range(x.shape[3]):
                c = x[b, :, row, col]
                out[b, :, row, col] = (1 + w_s @ c + b_s) * c + w_b @ c + b_b
    return out


def style_fusion_loop(fusion, decoder: torch.Tensor, encoder: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """D̂ of one :class:`hcl.fusion.StyleFusion` stage, from its variant, its ψ reading and its ψ layers' weights
    only, every statistic by :func:`masked_stats_loop` (float64):

    - ``external`` (Eqs. 4–7): F = (D − μ_{1−m}(E)) / σ_{1−m}(E), B = (D − μ_{1−m}(D)) / σ_{1−m}(D),
      D̂ = m·ψ_F(F) + (1 − m)·ψ_B(B); ψ reads the statistics each map was normalized by ('reference') or the map;
    - ``rain``: F = (D − μ_m(D)) / σ_m(D) · σ_{1−m}(D) + μ_{1−m}(D), B = D, ψ reading the decoder background's;
    - ``adain``: ψ_F((D − μ(D)) / σ(D)) over the whole map, ψ reading the encoder background's statistics;

    and D + D̂ when the stage is residual."""
    d, e, m = decoder.double(), encoder.double(), mask.double()
    everywhere = torch.ones_like(m)
    mu_e, sd_e = masked_stats_loop(e, 1 - m)
    mu_d, sd_d = masked_stats_loop(d, 1 - m)

    def condition(mean, std):
        return None if fusion.psi_input == "map" else torch.cat([mean, std], 1).flatten(1)

    if fusion.variant == "adain":
        mu, sd = masked_stats_loop(d, everywhere)
        fused = _psi_loop((d - mu) / sd, condition(mu_e, sd_e), fusion.psi_foreground)
    else:
        if fusion.variant == "external":
            foreground, reference_f = (d - mu_e) / sd_e, (mu_e, sd_e)  # (4)
            background = (d - mu_d) / sd_d  # (5)
        else:  # rain
            mu_f, sd_f = masked_stats_loop(d, m)
            foreground, reference_f = (d - mu_f) / sd_f * sd_d + mu_d, (mu_d, sd_d)
            background = d
        fused = (m * _psi_loop(foreground, condition(*reference_f), fusion.psi_foreground)
                 + (1 - m) * _psi_loop(background, condition(mu_d, sd_d), fusion.psi_background))
    return d + fused if fusion.residual else fused


def s2am_blend_loop(mask: torch.Tensor, variant: str) -> torch.Tensor:
    """S2AM's M_s for a B×1×H×W mask, pixel by pixel in float64: ``'original'`` (Cun & Pun) binarizes the mask
    at 0.5 and blurs it with a 5×5 Gaussian of σ = √2, borders reflected (the edge pixel not repeated); ``'ours'``
    blurs the mask as it is with a 7×7 Gaussian of σ = 1, borders replicated. The 2-D kernel is
    g(i)·g(j) / Σ, g(i) = exp(−i² / 2σ²)."""
    sigma, radius = (math.sqrt(2), 2) if variant == "original" else (1.0, 3)
    offsets = range(-radius, radius + 1)
    kernel = np.array([[math.exp(-(i * i + j * j) / (2 * sigma ** 2)) for j in offsets] for i in offsets])
    kernel /= kernel.sum()
    source = mask.double().numpy()[:, 0]
    if variant == "original":
        source = (source >= 0.5).astype(np.float64)
    padded = np.pad(source, ((0, 0), (radius, radius), (radius, radius)),
                    mode="reflect" if variant == "original" else "edge")
    out = np.zeros_like(source)
    for b in range(source.shape[0]):
        for row in range(source.shape[1]):
            for col in range(source.shape[2]):
                out[b, row, col] = (padded[b, row:row + 2 * radius + 1, col:col + 2 * radius + 1] * kernel).sum()
    return torch.from_numpy(out)[:, None]


def channel_gate_loop(gate, x: torch.Tensor) -> torch.Tensor:
    """Squeeze-and-excitation from the gate's weights: x · σ(W₂ relu(W₁ avg(x)) [+ W₂ relu(W₁ max(x))])."""
    first, second = gate.fc[0], gate.fc[2]

    def mlp(pooled):
        return second.weight.double() @ torch.relu(first.weight.double() @ pooled + first.bias.double()) + second.bias.double()

    out = torch.empty_like(x, dtype=torch.float64)
    for b in range(x.shape[0]):
        values = x[b].double().flatten(1)
        logits = mlp(values.mean(1)) + (mlp(values.amax(1)) if gate.with_max else 0)
        out[b] = x[b].double() * torch.sigmoid(logits)[:, None, None]
    return out
