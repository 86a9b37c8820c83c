"""External style fusion (section III-A, Eqs. 1–7) and the variants compared in Figs. 8–9.

At decoder stage i, ``D`` is the decoder feature map, ``E`` the encoder feature map of the same
shape (the skip), ``m`` the mask resized to that stage. μ_R, σ_R are per-sample, per-channel mean
and std over region R (:func:`hcl.stats.masked_mean_std`).

Our reading:

- (1)–(3) split the maps into regions by weighting with ``m`` and ``1 − m``.
- (4) foreground, *external* reference: ``F = (D − μ_{1−m}(E)) / σ_{1−m}(E)``. Unlike AdaIN, which
  standardizes a map by *its own* statistics, (4) standardizes decoder features by *encoder*
  statistics: two different feature spaces, so F is centred only as far as the two agree.
- (5) background, internal reference:  ``B = (D − μ_{1−m}(D)) / σ_{1−m}(D)``.
- (6)(7) ``ψ(x) = s·x + b``, per-channel scale and bias from zero-initialized affine layers
  ``f_s, f_b``: ``s = 1 + f_s(c)``, ``b = f_b(c)`` ("all initialized as 0"), so ψ starts as the
  identity. What ``c`` is, the paper does not say (``psi_input``):

  * ``'map'`` (every preset): as Eqs. (6)(7) are printed, ``f_s(D̂)·D̂ + f_b(D̂)`` with f_s, f_b
    affine maps of the normalized map itself, pixel by pixel (1×1 convolutions): ``s = 1 + f_s(x)``,
    ``b = f_b(x)`` vary across the map.
  * ``'reference'`` (the ``demo`` preset's until paired seeds found it worse; the ablation's AdaIN row):
    the statistics the map was normalized by, ``c = [μ, σ]`` — for ψ_F
    the encoder background's, for ψ_B the decoder background's: per channel, one value per image.
  * ``'normalized-mean'``: the region mean of the normalized map. For (5) that mean is 0 by
    construction (5e-8 measured), so ψ_B is a fixed affine.

- ``D̂ = m·ψ_F(F) + (1 − m)·ψ_B(B)``: the regions are disjoint, so ⊕ is a sum.
- ``residual=True`` returns ``D + D̂``: the decoder keeps its own features and fusion adds the
  re-normalized view, instead of replacing them.

Variants (``variant=``): ``'none'`` (D̂ = D); ``'adain'``: AdaIN of the whole decoder map with a
style source, ``ψ((D − μ(D)) / σ(D))`` with ψ fed the encoder background's statistics (the same
reference as ours, no region split; only under ``psi_input='reference'``: reading the map, ψ never sees the
style, which is why ``hcl.ablation``'s AdaIN row sets it); ``'rain'`` (RainNet): the foreground standardized by its own
statistics and given the *decoder's* background statistics, the background unchanged; ``'external'``
(the paper's, Eqs. 4–7).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hcl.config import FUSION_VARIANTS, PSI_INPUTS, ModelConfig
from hcl.pixel_psi import fuse_regions
from hcl.stats import masked_mean, masked_mean_std, normalize_by

VARIANTS = FUSION_VARIANTS


class AdaptiveAffine(nn.Module):
    """ψ(x) = (1 + f_s(c))·x + f_b(c), Eqs. (6)(7): per-channel scale and bias from ``c`` (B×D).

    f_s and f_b are zero-initialized linear maps, so ψ is the identity at initialization."""

    def __init__(self, channels: int, inputs: int):
        super().__init__()
        self.scale = nn.Linear(inputs, channels)
        self.bias = nn.Linear(inputs, channels)
        for layer in (self.scale, self.bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def coefficients(self, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(s, b)``, each B×C×1×1."""
        return 1 + self.scale(condition)[:, :, None, None], self.bias(condition)[:, :, None, None]

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        scale, bias = self.coefficients(condition)
        return scale * x + bias


class PixelAffine(AdaptiveAffine):
    """ψ(x) = (1 + f_s(x))·x + f_b(x), Eqs. (6)(7) as printed: f_s, f_b are zero-initialized 1×1
    convolutions of the normalized map x itself, so the scale and bias vary pixel by pixel."""

    def __init__(self, channels: int):
        nn.Module.__init__(self)
        self.scale = nn.Conv2d(channels, channels, 1)
        self.bias = nn.Conv2d(channels, channels, 1)
        for layer in (self.scale, self.bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def coefficients(self, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(s, b)``, each B×C×H×W."""
        return 1 + self.scale(condition), self.bias(condition)


class StyleFusion(nn.Module):
    """One decoder stage's fusion: ``(D, E, m)`` → ``D̂``, all B×C×H×W (m: B×1×H×W)."""

    def __init__(self, channels: int, variant: str = ModelConfig.fusion, residual: bool = ModelConfig.fusion_residual,
                 psi_input: str = ModelConfig.psi_input):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown fusion variant {variant!r}; choose from {VARIANTS}")
        if psi_input not in PSI_INPUTS:
            raise ValueError(f"unknown psi_input {psi_input!r}; choose from {PSI_INPUTS}")
        self.variant, self.residual, self.psi_input = variant, residual, psi_input
        inputs = 2 * channels if psi_input == "reference" else channels

        def psi():
            return PixelAffine(channels) if psi_input == "map" else AdaptiveAffine(channels, inputs)

        if variant != "none":
            self.psi_foreground = psi()
        if variant in ("rain", "external"):  # only these have a separate background ψ
            self.psi_background = psi()

    @classmethod
    def from_config(cls, channels: int, model: ModelConfig) -> "StyleFusion":
        """A stage of ``channels`` channels, as :class:`hcl.config.ModelConfig` describes it."""
        return cls(channels, model.fusion, model.fusion_residual, model.psi_input)

    def _condition(self, normalized, region, mean, std) -> torch.Tensor:
        """What f_s, f_b see: the normalized map, the reference statistics, or the map's region mean."""
        if self.psi_input == "map":
            return normalized
        if self.psi_input == "reference":
            return torch.cat([mean, std], dim=1).flatten(1)
        return masked_mean(normalized, region).flatten(1)

    def regions(self, decoder: torch.Tensor, encoder: torch.Tensor, mask: torch.Tensor):
        """``(F, B, foreground reference stats, background reference stats)`` before ψ."""
        background = 1 - mask
        decoder_bg = masked_mean_std(decoder, background)
        if self.variant == "external":
            encoder_bg = masked_mean_std(encoder, background)
            foreground = normalize_by(decoder, *encoder_bg)  # (4)
            return foreground, normalize_by(decoder, *decoder_bg), encoder_bg, decoder_bg  # (5)
        if self.variant == "rain":  # RainNet: the background passes unchanged
            mean_bg, std_bg = decoder_bg
            foreground = normalize_by(decoder, *masked_mean_std(decoder, mask)) * std_bg + mean_bg
            return foreground, decoder, decoder_bg, decoder_bg
        raise ValueError(f"variant {self.variant!r} has no region split")

    def explicit(self, decoder: torch.Tensor, encoder: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Eqs. (4)–(7) written out map by map (normalize, ψ, blend): what :meth:`forward` computes, kept
        for the notebooks and as the gradient tests' reference (itself checked against loops in tests/reference.py)."""
        if self.variant == "none":
            return decoder
        if self.variant == "adain":
            everywhere = torch.ones_like(mask)
            normalized = normalize_by(decoder, *masked_mean_std(decoder, everywhere))
            style = masked_mean_std(encoder, 1 - mask)  # the style source: the encoder's background
            fused = self.psi_foreground(normalized, self._condition(normalized, everywhere, *style))
        else:
            foreground, background, foreground_ref, background_ref = self.regions(decoder, encoder, mask)
            fused = (mask * self.psi_foreground(foreground, self._condition(foreground, mask, *foreground_ref))  # (6)
                     + (1 - mask) * self.psi_background(background,
                                                        self._condition(background, 1 - mask, *background_ref)))  # (7)
        return decoder + fused if self.residual else fused

    def forward(self, decoder: torch.Tensor, encoder: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``D̂`` (or ``D + D̂``), computed as one per-pixel affine map of D.

        Each region's branch is affine in D with per-channel coefficients: ψ_F(F) = s_F·(D − μ_E)/σ_E + b_F
        = a_F·D + c_F, and likewise ψ_B(B) = a_B·D + c_B. So D̂ = D·(a_B + m·(a_F − a_B)) + c_B + m·(c_F − c_B):
        three passes over the full map instead of a dozen (normalize twice, ψ twice, blend), the same numbers
        as :meth:`explicit` up to rounding. The normalizations come from :meth:`_normalizers`, shared with
        the map reading (:meth:`_forward_map`)."""
        if self.variant == "none" or self.psi_input == "normalized-mean":
            return self.explicit(decoder, encoder, mask)
        if self.psi_input == "map":
            return self._forward_map(decoder, encoder, mask)
        (a_f, c_f, reference_f), background = self._normalizers(decoder, encoder, mask)
        s_f, b_f = self.psi_foreground.coefficients(self._condition(None, None, *reference_f))  # (4), (6)
        a_f, c_f = s_f * a_f, torch.addcmul(b_f, s_f, c_f)  # ψ(a·D + c) = s·a·D + (s·c + b)
        if background is None:  # AdaIN: one branch over the whole map
            return torch.addcmul(c_f, decoder, a_f + 1 if self.residual else a_f)
        a_b, c_b, reference_b = background
        s_b, b_b = self.psi_background.coefficients(self._condition(None, None, *reference_b))  # (5), (7)
        a_b, c_b = s_b * a_b, torch.addcmul(b_b, s_b, c_b)
        if self.residual:
            a_f, a_b = a_f + 1, a_b + 1
        scale = torch.addcmul(a_b, mask, a_f - a_b)  # a_B + m·(a_F − a_B), B×C×H×W
        shift = torch.addcmul(c_b, mask, c_f - c_b)
        return torch.addcmul(shift, decoder, scale)

    def _normalizers(self, decoder: torch.Tensor, encoder: torch.Tensor, mask: torch.Tensor):
        """The per-channel affine maps of D behind the normalized regions, as :meth:`regions` builds them,
        each with the statistics ψ is fed under ``psi_input='reference'``: ``(a_F, c_F, reference_F)`` with
        ``F = a_F·D + c_F``, and ``(a_B, c_B, reference_B)`` (None for AdaIN, which has one branch).
        Coefficients are B×C×1×1."""
        background = 1 - mask
        if self.variant == "adain":  # the whole map by its own statistics; the style: the encoder's background
            mean, std = masked_mean_std(decoder, torch.ones_like(mask))
            return (1 / std, -mean / std, masked_mean_std(encoder, background)), None
        decoder_bg = mean_b, std_b = masked_mean_std(decoder, background)
        if self.variant == "external":
            encoder_bg = mean_e, std_e = masked_mean_std(encoder, background)
            return (1 / std_e, -mean_e / std_e, encoder_bg), (1 / std_b, -mean_b / std_b, decoder_bg)  # (4), (5)
        mean_f, std_f = masked_mean_std(decoder, mask)  # rain: the foreground given the decoder background's
        scale = std_b / std_f
        unchanged = (torch.ones_like(scale), torch.zeros_like(mean_b), decoder_bg)  # rain's background
        return (scale, mean_b - mean_f * scale, decoder_bg), unchanged

    def _forward_map(self, decoder: torch.Tensor, encoder: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``psi_input='map'`` (the paper's Eqs. 6–7 as printed): each region normalized by one affine map of D,
        ψ's two 1×1 convolutions as one of 2C outputs, and the blend, in :func:`hcl.pixel_psi.fuse_regions`
        (forward and backward by hand: the passes are memory traffic, not arithmetic)."""
        (a_f, c_f, _), background = self._normalizers(decoder, encoder, mask)
        regions = [(a_f, c_f, self.psi_foreground)]  # (4), (6)
        if background is not None:
            regions.append((*background[:2], self.psi_background))  # (5), (7)
        batch, channels = decoder.shape[:2]
        scales = torch.stack([a.expand(batch, channels, 1, 1).flatten(1) for a, _, _ in regions], 1)
        shifts = torch.stack([c.expand(batch, channels, 1, 1).flatten(1) for _, c, _ in regions], 1)
        weights = [torch.cat([psi.scale.weight, psi.bias.weight]).flatten(1) for _, _, psi in regions]
        biases = [torch.cat([psi.scale.bias, psi.bias.bias]) for _, _, psi in regions]
        return fuse_regions(decoder, mask, scales, shifts, weights, biases, self.residual)
