"""The training objective (section III-C, Eq. 13): ``L_all = λ1·L1 + λ2·L_pixel + λ3·L_HCL``
with λ = (0.4, 0.5, 0.1).

- L1: mean absolute error over the whole image.
- L_pixel: L1 inside the foreground only, per image ``Σ|M·(H − Ĥ)| / (3·ΣM)``, then the batch mean
  (an image with an empty mask contributes 0).
- L_HCL: :class:`hcl.contrastive.HCLLoss`.
"""

from __future__ import annotations

import torch
from torch import nn

from hcl.contrastive import HCLLoss
from hcl.stats import masked_mean


def l1_loss(harmonized: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """‖H − Ĥ‖₁ averaged over every pixel and channel."""
    return (harmonized - target).abs().mean()


def pixel_loss_per_image(harmonized: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``Σ|M·(H − Ĥ)| / (3·ΣM)`` per image: (B,)."""
    return masked_mean((harmonized - target).abs(), mask, dim=(1, 2, 3)).flatten()


def pixel_loss(harmonized: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_pixel: the foreground L1 of each image, averaged over the batch."""
    return pixel_loss_per_image(harmonized, target, mask).mean()


class HarmonizationLoss(nn.Module):
    """L_all of Eq. (13). ``forward`` returns a dict with ``total`` and every term (``l1``,
    ``pixel``, ``hcl``) plus the contrastive ``diagnostics``. A zero weight skips its term."""

    def __init__(self, l1_weight: float = 0.4, pixel_weight: float = 0.5, hcl_weight: float = 0.1,
                 k: int = 256, tau: float = 0.07, factor: int = 4):
        super().__init__()
        self.weights = {"l1": l1_weight, "pixel": pixel_weight, "hcl": hcl_weight}
        self.hcl = HCLLoss(k=k, tau=tau, factor=factor)

    def forward(self, harmonized, target, mask, generator: torch.Generator | None = None) -> dict:
        zero = harmonized.new_zeros(())
        terms = {
            "l1": l1_loss(harmonized, target) if self.weights["l1"] else zero,
            "pixel": pixel_loss(harmonized, target, mask) if self.weights["pixel"] else zero,
        }
        diagnostics = {}
        if self.weights["hcl"]:
            terms["hcl"], diagnostics = self.hcl(harmonized, target, mask, generator)
        else:
            terms["hcl"] = zero
        terms["total"] = sum(self.weights[name] * terms[name] for name in ("l1", "pixel", "hcl"))
        terms["diagnostics"] = diagnostics
        return terms
