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

    For the common case (a B×C×H×W map, a B×1×H×W region that needs no gradient, statistics over the
    pixels) :class:`_PixelMoments` computes the same two-pass formula with a backward written out.
    """
    if (dim in ((2, 3), (-2, -1)) and x.dim() == 4 and region.dim() == 4 and region.shape[1] == 1
            and region.shape[0] == x.shape[0] and region.shape[2:] == x.shape[2:] and not region.requires_grad):
        return _PixelMoments.apply(x, region, eps)
    weight = _region_weight(x, region, dim)  # once, for the mean, the variance and the empty test
    mean = _mean_by_weight(x, region, dim, weight)
    centred = x - mean
    variance = _mean_by_weight(centred * centred, region, dim, weight)
    std = torch.where(weight > EMPTY_REGION_WEIGHT, torch.sqrt(variance + eps), torch.ones_like(variance))
    return mean, std


class _PixelMoments(torch.autograd.Function):
    """``(μ, σ)`` per sample and channel over the pixels, weighted by a B×1×H×W region, in float32 at least.

    Forward: μ = Σ w·x / Σ w, then σ² = Σ w·(x − μ)² / Σ w (two passes, as :func:`masked_mean_std`
    writes it). Backward, by hand, since the terms through μ cancel (Σ w·(x − μ) = 0):
    ∂x = w·(∂μ + ∂σ·(x − μ)/σ) / Σ w = w·(α + β·x), one pass instead of autograd's five. Empty
    regions: μ = 0, σ = 1 and no gradient."""

    @staticmethod
    def forward(ctx, x, region, eps):
        batch, channels = x.shape[:2]
        with torch.autocast(device_type=x.device.type, enabled=False):
            flat = x.reshape(batch, channels, -1).to(torch.promote_types(x.dtype, torch.float32)).contiguous()
            weights = region.reshape(batch, 1, -1).to(flat.dtype)
            weight = weights.sum(-1, keepdim=True)  # B×1×1
            filled = weight > EMPTY_REGION_WEIGHT
            weight = weight.clamp_min(EMPTY_REGION_WEIGHT)
            mean = torch.where(filled, torch.bmm(flat, weights.transpose(1, 2)) / weight, 0.0)  # B×C×1
            centred = flat - mean
            weighted = centred * weights
            variance = torch.bmm(weighted.view(batch * channels, 1, -1), centred.view(batch * channels, -1, 1))
            std = torch.where(filled, (variance.view(batch, channels, 1) / weight + eps).sqrt(), 1.0)
        ctx.save_for_backward(x, region, mean, std, weight, filled)
        shape = (batch, channels, 1, 1)
        return mean.view(shape).to(x.dtype), std.view(shape).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_mean, grad_std):
        x, region, mean, std, weight, filled = ctx.saved_tensors
        batch, channels = x.shape[:2]
        beta = torch.where(filled, grad_std.view(batch, channels, 1).to(std.dtype) / (std * weight), 0.0)
        alpha = torch.where(filled, grad_mean.view(batch, channels, 1).to(std.dtype) / weight, 0.0) - beta * mean
        flat = x.reshape(batch, channels, -1)
        grad = torch.addcmul(alpha.to(x.dtype), flat, beta.to(x.dtype))
        grad.mul_(region.reshape(batch, 1, -1).to(x.dtype))
        return grad.reshape_as(x), None, None


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
