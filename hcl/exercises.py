"""The solutions to the notebooks' fill-in-the-blank cells ("Your turn", one per notebook).

Each such cell defines a function with one blank line for the learner and checks it with
:func:`hcl.tutorial.compare` against ``hcl``'s own implementation, which raises until the line is
right. The notebooks' ``SOLVED`` parameter (True by default, so that they run end to end and in CI)
fills the blank from here instead; set it to False to try."""

from __future__ import annotations

import math

import torch


def composite_fmse(pred: torch.Tensor, real: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Notebook 01. fMSE on the 0–255 scale: the squared error summed over the foreground, divided by
    3 × its pixel count. ``pred``, ``real`` 3×H×W in [0, 1]; ``mask`` 1×H×W."""
    return ((255 * (pred - real)) ** 2 * mask).sum() / (3 * mask.sum())


def keep_background(composite: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """Notebook 02. H = M'·pred + (1 − M')·I'."""
    return mask * pred + (1 - mask) * composite


def region_mean(x: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Notebook 03. μ of Eqs. (4)–(5): each channel's mean over the region, B×C×1×1."""
    return (x * region).sum((2, 3), keepdim=True) / region.sum((2, 3), keepdim=True)


def infonce_one_query(logits: torch.Tensor) -> torch.Tensor:
    """Notebook 04. One query's InfoNCE from its logits (column 0 the positive): −log softmax(logits)[0]."""
    return -torch.log(torch.exp(logits[0]) / torch.exp(logits).sum())


def cosine_factor(step: int, total_steps: int, warmup: int) -> float:
    """Notebook 05. The learning-rate multiplier: linear warm-up over ``warmup`` steps, then a half cosine."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / (total_steps - warmup))))


def psnr_from_mse(mse: float) -> float:
    """Notebook 06. PSNR in dB on the 0–255 scale: 10·log10(255² / MSE)."""
    return 10 * math.log10(255 ** 2 / mse)


SOLUTIONS = {f.__name__: f for f in (composite_fmse, keep_background, region_mean, infonce_one_query,
                                     cosine_factor, psnr_from_mse)}


def solution(name: str):
    """The solution to the blank ``name`` (a key of :data:`SOLUTIONS`)."""
    return SOLUTIONS[name]
