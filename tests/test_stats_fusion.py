"""Masked statistics against a brute-force reference; style fusion's equations and variants."""

from __future__ import annotations

import pytest
import torch

from hcl.fusion import VARIANTS, StyleFusion
from hcl.stats import masked_mean_std


def brute_force_mean_std(x, region, eps=1e-5):
    """Loop over samples and channels, the textbook weighted mean and population variance."""
    batch, channels = x.shape[:2]
    mean = torch.zeros(batch, channels, 1, 1, dtype=torch.float64)
    std = torch.ones(batch, channels, 1, 1, dtype=torch.float64)
    for b in range(batch):
        w = region[b, 0].double()
        if w.sum() <= 1e-6:
            continue
        for c in range(channels):
            v = x[b, c].double()
            mu = (w * v).sum() / w.sum()
            mean[b, c] = mu
            std[b, c] = torch.sqrt((w * (v - mu) ** 2).sum() / w.sum() + eps)
    return mean, std


@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_masked_mean_std_equals_brute_force(kind):
    torch.manual_seed(0)
    x = torch.randn(3, 4, 9, 7, dtype=torch.float64)
    region = torch.rand(3, 1, 9, 7, dtype=torch.float64)
    if kind == "hard":
        region = (region > 0.6).double()
    mean, std = masked_mean_std(x, region)
    ref_mean, ref_std = brute_force_mean_std(x, region)
    assert torch.allclose(mean, ref_mean, atol=1e-12) and torch.allclose(std, ref_std, atol=1e-12)


def test_empty_region_is_finite_in_values_and_gradients():
    x = torch.randn(2, 3, 5, 5, requires_grad=True)
    region = torch.zeros(2, 1, 5, 5)
    mean, std = masked_mean_std(x, region)
    assert torch.equal(mean, torch.zeros_like(mean)) and torch.equal(std, torch.ones_like(std))
    ((x - mean) / std).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_external_fusion_at_initialization_is_eq4_in_the_foreground_and_eq5_in_the_background():
    torch.manual_seed(1)
    decoder, encoder = torch.randn(2, 6, 8, 8), torch.randn(2, 6, 8, 8) * 3 + 2
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, 2:6, 1:5] = 1
    fused = StyleFusion(6, "external")(decoder, encoder, mask)
    background = 1 - mask
    mu_e, sd_e = brute_force_mean_std(encoder, background)
    mu_d, sd_d = brute_force_mean_std(decoder, background)
    expected_fg = (decoder.double() - mu_e) / sd_e  # (4)
    expected_bg = (decoder.double() - mu_d) / sd_d  # (5)
    fg = mask.bool().expand_as(fused)
    assert torch.allclose(fused[fg].double(), expected_fg[fg], atol=1e-5)
    assert torch.allclose(fused[~fg].double(), expected_bg[~fg], atol=1e-5)


def test_variants_differ_and_none_is_the_identity():
    torch.manual_seed(2)
    decoder, encoder = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6) + 5
    mask = torch.zeros(1, 1, 6, 6)
    mask[..., :3, :] = 1
    outputs = {v: StyleFusion(4, v)(decoder, encoder, mask) for v in VARIANTS}
    assert torch.equal(outputs["none"], decoder)
    for a in VARIANTS:
        for b in VARIANTS:
            if a < b:
                assert not torch.allclose(outputs[a], outputs[b]), (a, b)
    residual = StyleFusion(4, "external", residual=True)(decoder, encoder, mask)
    assert torch.allclose(residual, decoder + outputs["external"])
    with pytest.raises(ValueError, match="unknown fusion variant"):
        StyleFusion(4, "crossattention")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_every_variant_is_finite_for_empty_and_full_masks(variant, fill):
    decoder = torch.randn(2, 4, 6, 6, requires_grad=True)
    encoder = torch.randn(2, 4, 6, 6, requires_grad=True)
    out = StyleFusion(4, variant)(decoder, encoder, torch.full((2, 1, 6, 6), fill))
    out.square().sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(decoder.grad).all()
