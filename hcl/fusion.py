"""External style fusion (section III-A, Eqs. 1–7) and the variants compared in Figs. 8–9.

At decoder stage i, ``D`` is the decoder feature map, ``E`` the encoder feature map of the same
shape (the encoder list reversed), ``m`` the mask resized to that stage. μ_R, σ_R are per-sample,
per-channel mean and std over region R (:func:`hcl.stats.masked_mean_std`).

Our reading (DESIGN §3):

- (1)–(3) split the maps into regions by weighting with ``m`` and ``1 − m``.
- (4) foreground, *external* reference: ``F = (D − μ_{1−m}(E)) / σ_{1−m}(E)``.
- (5) background, internal reference:  ``B = (D − μ_{1−m}(D)) / σ_{1−m}(D)``.
- (6)(7) ``ψ(x) = s(x)·x + b(x)``, per-channel scale and bias from small affine layers ``f_s, f_b``
  of the region's channel means. "All initialized as 0" is read as ``s = 1 + f_s``, ``b = f_b``
  with ``f_s, f_b`` zero-initialized, so ψ starts as the identity.
- ``D̂ = m·ψ_F(F) + (1 − m)·ψ_B(B)``: the regions are disjoint, so ⊕ is a sum.

Variants (``variant=``): ``'none'`` (D̂ = D), ``'adain'`` (decoder-internal instance
normalization of the whole map with adaptive ψ), ``'rain'`` (RainNet-style: the foreground takes
the *decoder's* background statistics), ``'external'`` (ours). ``residual=True`` returns
``D + D̂`` instead, which notebook 03 discusses as an exercise.
"""

from __future__ import annotations

import torch
from torch import nn

from hcl.stats import masked_mean, masked_mean_std, normalize_by

VARIANTS = ("none", "adain", "rain", "external")


class AdaptiveAffine(nn.Module):
    """ψ(x) = (1 + f_s(c))·x + f_b(c), Eqs. (6)(7); ``c`` is x's per-channel mean over its region.

    f_s and f_b are zero-initialized linear maps, so ψ is the identity at initialization.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.scale = nn.Linear(channels, channels)
        self.bias = nn.Linear(channels, channels)
        for layer in (self.scale, self.bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
        style = masked_mean(x, region).flatten(1)  # B×C
        scale = 1 + self.scale(style)[:, :, None, None]
        bias = self.bias(style)[:, :, None, None]
        return scale * x + bias


class StyleFusion(nn.Module):
    """One decoder stage's fusion: ``(D, E, m)`` → ``D̂``, all B×C×H×W (m: B×1×H×W)."""

    def __init__(self, channels: int, variant: str = "external", residual: bool = False):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown fusion variant {variant!r}; choose from {VARIANTS}")
        self.variant = variant
        self.residual = residual
        if variant != "none":
            self.foreground_affine = AdaptiveAffine(channels)
            self.background_affine = AdaptiveAffine(channels)

    def normalized_regions(self, decoder: torch.Tensor, encoder: torch.Tensor, mask: torch.Tensor):
        """The foreground and background maps before ψ: (F, B) of Eqs. (4)(5) or the variant's."""
        background = 1 - mask
        if self.variant == "external":
            foreground = normalize_by(decoder, *masked_mean_std(encoder, background))  # (4)
        elif self.variant == "rain":
            mean_bg, std_bg = masked_mean_std(decoder, background)
            foreground = normalize_by(decoder, *masked_mean_std(decoder, mask)) * std_bg + mean_bg
        else:
            raise ValueError(f"variant {self.variant!r} has no region split")
        return foreground, normalize_by(decoder, *masked_mean_std(decoder, background))  # (5)

    def forward(self, decoder: torch.Tensor, encoder: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.variant == "none":
            return decoder
        if self.variant == "adain":
            everywhere = torch.ones_like(mask)
            fused = self.foreground_affine(normalize_by(decoder, *masked_mean_std(decoder, everywhere)), everywhere)
        else:
            foreground, background = self.normalized_regions(decoder, encoder, mask)
            fused = mask * self.foreground_affine(foreground, mask) + (1 - mask) * self.background_affine(
                background, 1 - mask
            )
        return decoder + fused if self.residual else fused
