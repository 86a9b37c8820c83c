"""Masked statistics: the one helper behind style fusion (Eqs. 4-5), RAIN, AdaIN, L_pixel and fMSE.

``region`` is a weight map in [0, 1] broadcastable to ``x`` over the reduced dimensions (soft or
hard masks both work). An empty region never produces NaN or inf, in values or gradients: its
mean is 0 and its standard deviation 1, so normalizing by it is the identity.
"""

from __future__ import annotations

import torch

EMPTY_REGION_WEIGHT = 1e-6


def _region_sum(x: torch.Tensor, region: torch.Tensor, dim) -> torch.Tensor:
    """``Σ x·region`` over ``dim`` (keepdim). For the common case — a one-channel region summed over
    the pixels — a batched matrix product, so the full B×C×H×W product is never materialized."""
    dim = (dim,) if isinstance(dim, int) else tuple(dim)
    if dim == (2, 3) and x.dim() == 4 and region.shape[1] == 1:
        b, c = x.shape[:2]
        weights = region.to(x.dtype).expand(b, 1, *x.shape[-2:]).reshape(b, -1)  # B×HW
        # autocast would run the product in bf16; a sum over a whole map wants float32 (a no-op on float32 maps)
        with torch.autocast(device_type=x.device.type, enabled=False):
            if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
                pixels = x.permute(0, 2, 3, 1).reshape(b, -1, c)  # B×HW×C without a copy
                total = torch.bmm(weights[:, None].float(), pixels.float())
            else:
                total = torch.bmm(x.reshape(b, c, -1).float(), weights[:, :, None].float()).transpose(1, 2)
            total = total.reshape(b, c, 1, 1)
        return total.to(x.dtype)
    return (x * region.to(x.dtype)).sum(dim=dim, keepdim=True)


def _region_weight(x: torch.Tensor, region: torch.Tensor, dim) -> torch.Tensor:
    """``Σ region`` over ``dim``, counted once per channel of ``x`` that the region covers."""
    dim = (dim,) if isinstance(dim, int) else tuple(dim)
    region = region.to(x.dtype)
    if region.dim() == x.dim() and region.shape[1] == 1 and region.shape[2:] == x.shape[2:]:
        total = region.sum(dim=dim, keepdim=True)  # B×1×…: the same weight for every channel
        return total * x.shape[1] if 1 in dim and x.shape[1] != 1 else total
    return region.expand_as(x).sum(dim=dim, keepdim=True)


def _mean_by_weight(x: torch.Tensor, region: torch.Tensor, dim, weight: torch.Tensor) -> torch.Tensor:
    total = _region_sum(x, region, dim)
    return torch.where(weight > EMPTY_REGION_WEIGHT, total / weight.clamp_min(EMPTY_REGION_WEIGHT), torch.zeros_like(total))


def masked_mean(x: torch.Tensor, region: torch.Tensor, dim=(2, 3)) -> torch.Tensor:
    """Weighted mean of ``x`` over ``dim`` with weights ``region``; 0 where the region is empty.

    x: B×C×H×W, region: B×1×H×W (or B×C×H×W) → B×C×1×1 (``keepdim``).
    """
    return _mean_by_weight(x, region, dim, _region_weight(x, region, dim))


def masked_mean_std(
    x: torch.Tensor, region: torch.Tensor, dim=(2, 3), eps: float = 1e-5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel ``(μ_R(x), σ_R(x))`` over ``region`` (population variance).

    σ = sqrt(var + eps). Where the region is empty, μ = 0 and σ = 1.
    """
    weight = _region_weight(x, region, dim)  # once, for the mean, the variance and the empty test
    mean = _mean_by_weight(x, region, dim, weight)
    centred = x - mean
    variance = _mean_by_weight(centred * centred, region, dim, weight)
    std = torch.where(weight > EMPTY_REGION_WEIGHT, torch.sqrt(variance + eps), torch.ones_like(variance))
    return mean, std


def normalize_by(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """φ(x, μ, σ) = (x − μ) / σ, the normalization of Eqs. (4) and (5)."""
    return (x - mean) / std


def gaussian_taps(sigma: float, radius: int | None = None, dtype=torch.float64, device=None) -> torch.Tensor:
    """1-D Gaussian of ``2·radius + 1`` taps summing to 1 (radius ⌈3σ⌉ by default).

    The one Gaussian behind S2AM's smoothed mask and SSIM's window (σ 1.5, radius 5 = 11 taps)."""
    if radius is None:
        radius = max(1, int(3 * sigma + 0.5))
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()
