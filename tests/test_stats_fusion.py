"""Masked statistics against a brute-force reference; style fusion's equations and variants."""

from __future__ import annotations

import pytest
import torch

from hcl.fusion import VARIANTS, StyleFusion
from hcl.stats import gaussian_taps, masked_mean_std
from tests.reference import masked_stats_loop, style_fusion_loop


brute_force_mean_std = masked_stats_loop


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
    fused = StyleFusion(6, "external", residual=False)(decoder, encoder, mask)
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
    outputs = {v: StyleFusion(4, v, residual=False)(decoder, encoder, mask) for v in VARIANTS}
    assert torch.equal(outputs["none"], decoder)
    for a in VARIANTS:
        for b in VARIANTS:
            if a < b:
                assert not torch.allclose(outputs[a], outputs[b]), (a, b)
    residual = StyleFusion(4, "external", residual=True)(decoder, encoder, mask)
    assert torch.allclose(residual, decoder + StyleFusion(4, "external", residual=False)(decoder, encoder, mask))
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


@pytest.mark.parametrize("psi_input,adaptive", [("reference", True), ("normalized-mean", False)])
def test_psi_b_adapts_to_the_image_only_when_fed_the_reference_statistics(psi_input, adaptive):
    """Eq. (7): ψ_B(B) = (1 + f_s(c))·B + f_b(c). Fed the region mean of the normalized map, c is 0 for
    every image, so ψ_B is one fixed affine; fed the reference statistics (μ, σ), it adapts."""
    torch.manual_seed(3)
    fusion = StyleFusion(4, "external", residual=False, psi_input=psi_input)
    with torch.no_grad():
        for layer in (fusion.psi_background.scale, fusion.psi_background.bias):
            layer.weight.normal_()
            layer.bias.zero_()
    mask = torch.zeros(2, 1, 6, 6)
    mask[..., :3, :] = 1
    decoder = torch.randn(1, 4, 6, 6).repeat(2, 1, 1, 1)
    decoder[1] = decoder[1] * 3 + 2  # the same pattern, other background statistics
    encoder = torch.randn(2, 4, 6, 6)
    fused = fusion(decoder, encoder, mask)
    background = (1 - mask).bool().expand_as(fused)
    same = torch.allclose(fused[0][background[0]], fused[1][background[1]], atol=1e-4)
    assert same is not adaptive


def test_psi_starts_as_the_identity_for_every_variant(monkeypatch):
    """ψ(x) = x at initialization (weights *and* biases zero): each variant's output equals the same
    variant with ψ bypassed, on inputs where a non-zero scale or bias would show."""
    from hcl.fusion import AdaptiveAffine

    torch.manual_seed(4)
    decoder, encoder = torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6) * 2 + 1
    mask = torch.zeros(2, 1, 6, 6)
    mask[..., 2:5, 1:4] = 1
    for variant in ("adain", "rain", "external"):
        fusion = StyleFusion(4, variant, residual=False)
        with_psi = fusion(decoder, encoder, mask)
        with monkeypatch.context() as patch:
            patch.setattr(AdaptiveAffine, "forward", lambda self, x, condition: x)
            without_psi = fusion.explicit(decoder, encoder, mask)
        assert torch.allclose(with_psi, without_psi, atol=1e-5), variant
        for module in fusion.modules():
            if isinstance(module, AdaptiveAffine):
                x, condition = torch.randn(3, 4, 2, 2), torch.randn(3, module.scale.in_features)
                assert torch.equal(module(x, condition), x), variant


def test_only_the_affines_a_variant_uses_are_built():
    assert not list(StyleFusion(4, "none").parameters())
    assert hasattr(StyleFusion(4, "adain"), "psi_foreground") and not hasattr(StyleFusion(4, "adain"), "psi_background")
    assert hasattr(StyleFusion(4, "external"), "psi_background")


def test_gaussian_taps_sum_to_one_and_match_the_formula():
    taps = gaussian_taps(1.5, radius=5)
    x = torch.arange(-5, 6, dtype=torch.float64)
    expected = torch.exp(-x**2 / (2 * 1.5**2))
    assert torch.allclose(taps, expected / expected.sum(), atol=1e-15) and len(taps) == 11


@pytest.mark.parametrize("variant", ["adain", "rain", "external"])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("psi_input", ["reference", "map"])
def test_every_variant_with_a_trained_psi_equals_its_equations_written_as_loops(variant, residual, psi_input):
    """Both code paths (explicit and folded) against tests/reference.py's loops, which know only the
    equations and ψ's weights: Eqs. (4)–(7) for external, RainNet's region normalization, AdaIN over the
    whole map; ψ's layers random, as after training, so a wrong condition or statistic shows."""
    torch.manual_seed(9)
    decoder, encoder = torch.randn(3, 4, 7, 6) * 2 + 1, torch.randn(3, 4, 7, 6) * 3 - 2
    mask = torch.zeros(3, 1, 7, 6)
    mask[0, :, 2:5, 1:4] = 1
    mask[1, :, 3:, :] = 0.5
    mask[2, :, :, :2] = 1
    fusion = StyleFusion(4, variant, residual=residual, psi_input=psi_input)
    for parameter in fusion.parameters():
        torch.nn.init.normal_(parameter, std=0.3)
    expected = style_fusion_loop(fusion, decoder, encoder, mask)
    assert torch.allclose(fusion.explicit(decoder, encoder, mask).double(), expected, atol=1e-4, rtol=1e-4)
    assert torch.allclose(fusion(decoder, encoder, mask).double(), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("variant", ["adain", "rain", "external"])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("psi_input", ["reference", "map"])
def test_the_folded_forward_equals_eqs_4_to_7_written_out_with_a_trained_psi(variant, residual, psi_input):
    """forward folds normalize → ψ → blend into fewer passes over D ('reference': one affine map of D;
    'map': one affine pass per region and ψ's two 1×1 convolutions as one); with ψ's layers random (as
    after training) it must equal the explicit composition, on a batch with an image of no background."""
    torch.manual_seed(7)
    decoder, encoder = torch.randn(3, 5, 9, 7) * 2 + 1, torch.randn(3, 5, 9, 7) * 3 - 2
    mask = torch.zeros(3, 1, 9, 7)
    mask[0, :, 2:6, 1:5] = 1
    mask[1, :, 4:, :] = 0.5  # soft weights, as the network's area-resized masks
    mask[2] = 1.0  # no background at all
    fusion = StyleFusion(5, variant, residual=residual, psi_input=psi_input)
    for module in fusion.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            torch.nn.init.normal_(module.weight, std=0.3)
            torch.nn.init.normal_(module.bias, std=0.3)
    folded, explicit = fusion(decoder, encoder, mask), fusion.explicit(decoder, encoder, mask)
    assert torch.isfinite(folded).all()
    assert torch.allclose(folded, explicit, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("variant", ["adain", "rain", "external"])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("psi_input", ["reference", "map"])
def test_the_folded_forward_has_the_gradients_of_eqs_4_to_7_written_out(variant, residual, psi_input):
    """The map reading's backward is written by hand (hcl.pixel_psi): the gradients reaching D, E and ψ's
    layers must be autograd's through the explicit composition, in float64 to within rounding. Both sides
    use the same masked statistics; their own hand-written backward is checked against the printed formula
    in the next test."""
    torch.manual_seed(8)
    decoder = (torch.randn(3, 4, 6, 5, dtype=torch.float64) * 2 + 1).requires_grad_()
    encoder = (torch.randn(3, 4, 6, 5, dtype=torch.float64) * 3 - 2).requires_grad_()
    mask = torch.zeros(3, 1, 6, 5, dtype=torch.float64)
    mask[0, :, 1:4, 1:4] = 1
    mask[1, :, 3:, :] = 0.5
    mask[2] = 1.0  # no background: its statistics are the constants (0, 1), no gradient
    fusion = StyleFusion(4, variant, residual=residual, psi_input=psi_input).double()
    for parameter in fusion.parameters():
        torch.nn.init.normal_(parameter, std=0.3)
    upstream = torch.randn(3, 4, 6, 5, dtype=torch.float64)
    inputs = [decoder, encoder, *fusion.parameters()]
    folded = torch.autograd.grad(fusion(decoder, encoder, mask), inputs, upstream, allow_unused=True)
    explicit = torch.autograd.grad(fusion.explicit(decoder, encoder, mask), inputs, upstream, allow_unused=True)
    for got, want in zip(folded, explicit):
        assert (got is None) == (want is None)
        if got is not None:
            assert torch.allclose(got, want, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_masked_mean_std_gradients_equal_the_loop_reference(kind):
    """hcl.stats writes the backward of (μ, σ) by hand; autograd through the brute-force loop is the
    reference. The empty image (index 2) gets (0, 1) and exactly no gradient."""
    torch.manual_seed(2)
    x = torch.randn(3, 4, 6, 5, dtype=torch.float64, requires_grad=True)
    region = torch.rand(3, 1, 6, 5, dtype=torch.float64)
    if kind == "hard":
        region = (region > 0.5).double()
    region[2] = 0
    upstream = torch.randn(3, 4, 1, 1, dtype=torch.float64), torch.randn(3, 4, 1, 1, dtype=torch.float64)
    got = torch.autograd.grad(masked_mean_std(x, region), x, upstream)[0]
    weight = region[:2].sum((2, 3), keepdim=True)  # the formula as printed, on the two non-empty images
    mean = (x[:2] * region[:2]).sum((2, 3), keepdim=True) / weight
    std = (((x[:2] - mean) ** 2 * region[:2]).sum((2, 3), keepdim=True) / weight + 1e-5).sqrt()
    want = torch.autograd.grad((mean, std), x, (upstream[0][:2], upstream[1][:2]))[0]
    assert torch.allclose(got[:2], want[:2], atol=1e-12)
    assert torch.equal(got[2], torch.zeros_like(got[2]))


def test_masked_statistics_agree_for_channels_last_maps_and_channel_wise_regions():
    torch.manual_seed(9)
    x = torch.randn(2, 5, 7, 6) * 3 + 1
    region = (torch.rand(2, 1, 7, 6) > 0.4).float()
    mean, std = brute_force_mean_std(x, region)
    for layout in (x, x.contiguous(memory_format=torch.channels_last)):
        got_mean, got_std = masked_mean_std(layout, region)
        assert torch.allclose(got_mean.double(), mean, atol=1e-5) and torch.allclose(got_std.double(), std, atol=1e-4)
    per_channel = region.expand(2, 5, 7, 6).contiguous()
    assert torch.allclose(masked_mean_std(x, per_channel)[1].double(), std, atol=1e-4)


def test_a_region_that_broadcasts_over_the_pixels_weights_every_pixel():
    from hcl.stats import masked_mean

    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    assert torch.allclose(masked_mean(x, torch.ones(2, 1, 1, 1), dim=(1, 2, 3)).flatten(), x.mean(dim=(1, 2, 3)))
    assert torch.allclose(masked_mean(x, torch.ones(2, 1, 1, 1)).flatten(1), x.mean(dim=(2, 3)))
    assert torch.allclose(masked_mean(x, torch.ones(2, 1, 4, 4), dim=1).flatten(), x.mean(dim=1).flatten())


def test_region_sums_stay_float32_under_bf16_autocast():
    """Under autocast a batched product runs in bf16 (8-bit mantissa); the statistics of a float32 map
    must keep float32 precision."""
    from hcl.stats import masked_mean

    torch.manual_seed(3)
    x = 1 + 0.01 * torch.randn(2, 4, 128, 128)
    region = (torch.rand(2, 1, 128, 128) > 0.5).float()
    reference = (x.double() * region).sum((2, 3), keepdim=True) / region.double().sum((2, 3), keepdim=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mean = masked_mean(x, region)
    assert mean.dtype == torch.float32 and torch.allclose(mean.double(), reference, rtol=2e-5, atol=0)


def test_psi_reading_the_map_is_eqs_6_7_pixel_by_pixel():
    """psi_input='map': ψ(x) = (1 + f_s(x))·x + f_b(x) with f_s, f_b affine in the C numbers of each pixel
    of the normalized map, checked against a loop over pixels; the identity while f_s, f_b are 0."""
    torch.manual_seed(5)
    fusion = StyleFusion(3, "external", residual=False, psi_input="map")
    decoder, encoder = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4)
    mask = torch.zeros(2, 1, 5, 4)
    mask[:, :, 1:4, 1:3] = 1
    foreground, background, _, _ = fusion.regions(decoder, encoder, mask)
    expected_identity = mask * foreground + (1 - mask) * background
    assert torch.allclose(fusion(decoder, encoder, mask), expected_identity, atol=1e-6)
    with torch.no_grad():
        for psi in (fusion.psi_foreground, fusion.psi_background):
            for layer in (psi.scale, psi.bias):
                layer.weight.normal_()
                layer.bias.normal_()
    expected = torch.empty_like(decoder)
    for b in range(2):
        for i in range(5):
            for j in range(4):
                inside = bool(mask[b, 0, i, j])
                psi, x = (fusion.psi_foreground, foreground) if inside else (fusion.psi_background, background)
                pixel = x[b, :, i, j]
                scale = 1 + psi.scale.weight[:, :, 0, 0] @ pixel + psi.scale.bias
                bias = psi.bias.weight[:, :, 0, 0] @ pixel + psi.bias.bias
                expected[b, :, i, j] = scale * pixel + bias
    assert torch.allclose(fusion(decoder, encoder, mask), expected, atol=1e-5)
