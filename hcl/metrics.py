"""The paper's metrics (section IV-C; DESIGN §6), batched and vectorized on CPU or GPU.

Inputs: ``pred``, ``target`` B×3×H×W in [0, 1], ``mask`` B×1×H×W. Outputs: per-image tensors (B,)
on the 0–255 scale. Conventions (``convention=``):

- ``'default'`` (ours, the usual iHarmony4 protocol): PSNR = 10·log10(255² / MSE).
- ``'issam'``: iSSAM's PSNR uses the target's peak, 10·log10(max(target)² / MSE).
- ``'dovenet'``: DoveNet's PSNR uses the prediction's range, 10·log10(range(pred)² / MSE).

SSIM follows Wang et al. with a Gaussian window (11 taps, σ = 1.5), K1 = 0.01, K2 = 0.03, L = 255,
population covariance, half-sample symmetric ('reflect') borders, the 5-pixel border cropped
before the mean and channels averaged: equal to ``skimage.metrics.structural_similarity(...,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)``.
fSSIM = Σ(ssim_map · m) / Σm over the full (uncropped) SSIM map.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hcl.stats import masked_mean

CONVENTIONS = ("default", "issam", "dovenet")
SSIM_SIGMA, SSIM_TRUNCATE, SSIM_K1, SSIM_K2, PEAK = 1.5, 3.5, 0.01, 0.03, 255.0
METRICS = ("mse", "psnr", "fmse", "ssim", "fssim")


def _scaled(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float64) * PEAK


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over H·W·3 of (pred − target)² on the 0–255 scale: (B,)."""
    return ((_scaled(pred) - _scaled(target)) ** 2).mean(dim=(1, 2, 3))


def psnr(pred: torch.Tensor, target: torch.Tensor, convention: str = "default") -> torch.Tensor:
    """10·log10(peak² / MSE): (B,). Identical images give +inf."""
    error = mse(pred, target)
    if convention == "default":
        peak = torch.full_like(error, PEAK)
    elif convention == "issam":
        peak = _scaled(target).flatten(1).amax(1)
    elif convention == "dovenet":
        flat = _scaled(pred).flatten(1)
        peak = flat.amax(1) - flat.amin(1)
    else:
        raise ValueError(f"unknown convention {convention!r}; choose from {CONVENTIONS}")
    return 10 * torch.log10(peak**2 / error)


def fmse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ m·(pred − target)² / (3·Σm) on the 0–255 scale: (B,); 0 for an empty mask."""
    squared = (_scaled(pred) - _scaled(target)) ** 2
    return masked_mean(squared, mask.to(torch.float64), dim=(1, 2, 3)).flatten()


def _gaussian_taps(device) -> torch.Tensor:
    radius = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)  # 5: an 11-tap window, as scipy truncates it
    x = torch.arange(-radius, radius + 1, dtype=torch.float64, device=device)
    taps = torch.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return taps / taps.sum()


def _symmetric_index(size: int, radius: int, device) -> torch.Tensor:
    """Indices for half-sample symmetric padding (scipy 'reflect': d c b a | a b c d | d c b a)."""
    index = torch.arange(-radius, size + radius, device=device)
    period = 2 * size
    index = torch.remainder(index, period)
    return torch.where(index >= size, period - 1 - index, index)


def gaussian_filter(x: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur (σ 1.5, 11 taps) of B×C×H×W with scipy's 'reflect' borders."""
    taps = _gaussian_taps(x.device).to(x.dtype)
    radius = taps.numel() // 2
    channels = x.shape[1]
    x = x[..., _symmetric_index(x.shape[-2], radius, x.device), :]
    x = x[..., _symmetric_index(x.shape[-1], radius, x.device)]
    x = F.conv2d(x, taps.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)
    return F.conv2d(x, taps.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)


def ssim_map(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The per-pixel SSIM map, B×3×H×W (float64)."""
    x, y = _scaled(pred), _scaled(target)
    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2
    stacked = gaussian_filter(torch.cat([x, y, x * x, y * y, x * y], dim=1))
    mu_x, mu_y, xx, yy, xy = stacked.chunk(5, dim=1)
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM per image (border of 5 pixels cropped, channels averaged), (B,), in [−1, 1]."""
    radius = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
    full = ssim_map(pred, target)
    return full[..., radius:-radius, radius:-radius].mean(dim=(1, 2, 3))


def fssim(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ(ssim_map · m) / Σm per image (channels averaged), (B,); 0 for an empty mask."""
    return masked_mean(ssim_map(pred, target), mask.to(torch.float64), dim=(1, 2, 3)).flatten()


def all_metrics(pred, target, mask, convention: str = "default") -> dict[str, torch.Tensor]:
    """Every metric of Tables II/III for a batch, per image."""
    return {
        "mse": mse(pred, target),
        "psnr": psnr(pred, target, convention),
        "fmse": fmse(pred, target, mask),
        "ssim": ssim(pred, target),
        "fssim": fssim(pred, target, mask),
    }


def finite_mean(values) -> float:
    """Mean of per-image values, ignoring +inf PSNRs of identical images (said in tables)."""
    tensor = torch.as_tensor(values, dtype=torch.float64)
    finite = tensor[torch.isfinite(tensor)]
    return float(finite.mean()) if finite.numel() else math.nan
