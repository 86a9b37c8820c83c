"""The training objective (section III-C, Eq. 13): ``L_all = λ1·L1 + λ2·L_pixel + λ3·L_HCL``
with λ = (0.4, 0.5, 0.1).

- L1: mean absolute error over the whole image.
- L_pixel: L1 inside the foreground only, per image ``Σ|M·(H − Ĥ)| / (3·ΣM)``, then the batch mean
  (an image with an empty mask contributes 0).
- L_HCL: :class:`hcl.contrastive.HCLLoss`.

The loss scale, which the paper does not state: L1 and L_pixel are computed on images scaled to
``[0, pixel_scale]``. On [0, 1] images (``pixel_scale=1``) 0.4·L1 ≈ 0.015 and 0.5·L_pixel ≈ 0.06
while 0.1·L_HCL ≈ 0.5, so the gradient at the output is almost all contrastive; iSSAM-style pixel
losses live on the 0–255 scale, our default.
"""

from __future__ import annotations

import torch
from torch import nn

from hcl.config import LossConfig
from hcl.contrastive import HCLLoss
from hcl.stats import masked_mean

TERMS = ("l1", "pixel", "hcl")


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
    ``pixel``, ``hcl``) plus the contrastive ``diagnostics``. A zero weight skips its term, and
    with λ3 = 0 no contrastive MLP is built at all."""

    def __init__(self, l1_weight: float = LossConfig.loss_weights[0], pixel_weight: float = LossConfig.loss_weights[1],
                 hcl_weight: float = LossConfig.loss_weights[2], k: int = LossConfig.k, tau: float = LossConfig.tau,
                 factor: int = LossConfig.factor, window: int = LossConfig.window,
                 reading: str = LossConfig.hcl_reading, pixel_scale: float = LossConfig.pixel_loss_scale,
                 key_momentum: float = LossConfig.key_momentum, patch_norm: str = LossConfig.patch_norm):
        super().__init__()
        self.weights = {"l1": l1_weight, "pixel": pixel_weight, "hcl": hcl_weight}
        self.pixel_scale = pixel_scale
        if hcl_weight:
            self.hcl = HCLLoss(k=k, tau=tau, factor=factor, window=window, reading=reading, key_momentum=key_momentum,
                               patch_norm=patch_norm)

    @classmethod
    def from_config(cls, loss: LossConfig) -> "HarmonizationLoss":
        """From a :class:`hcl.config.LossConfig` (the defaults above are that class's); the contrastive
        term is built from the same section by :meth:`hcl.contrastive.HCLLoss.from_config`."""
        criterion = cls(*loss.loss_weights[:2], 0.0, pixel_scale=loss.pixel_loss_scale)
        criterion.weights["hcl"] = loss.loss_weights[2]
        if criterion.weights["hcl"]:
            criterion.hcl = HCLLoss.from_config(loss)
        return criterion

    def forward(self, harmonized, target, mask, generator: torch.Generator | None = None, composite=None) -> dict:
        zero = harmonized.new_zeros(())
        scale = self.pixel_scale
        terms = {
            "l1": l1_loss(harmonized * scale, target * scale) if self.weights["l1"] else zero,
            "pixel": pixel_loss(harmonized * scale, target * scale, mask) if self.weights["pixel"] else zero,
        }
        diagnostics = {}
        if self.weights["hcl"]:
            terms["hcl"], diagnostics = self.hcl(harmonized, target, mask, generator, composite)
        else:
            terms["hcl"] = zero
        terms["total"] = sum(self.weights[name] * terms[name] for name in TERMS)  # (13)
        terms["diagnostics"] = diagnostics
        return terms

    def after_step(self) -> None:
        """Bookkeeping after an optimizer step (the EMA key MLP of some readings)."""
        if self.weights["hcl"]:
            self.hcl.update_keys()
