"""Region-wise sampling and InfoNCE (Eqs. 8–12) against hand-written references."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from hcl.contrastive import DEFAULT_READING, READINGS, HCLLoss, crop_patches, region_infonce, sample_region_cells
from tests.reference import crop_loop, infonce_loop, reading_loss_loop, region_cells_loop


def reference_infonce(negatives, positives, tau):
    """Eq. (11), the 'spread' reading, with loops."""
    return torch.tensor([infonce_loop(negatives[b], positives[b], negatives[b], tau, exclude_self=True)
                         for b in range(negatives.shape[0])], dtype=torch.float64)


@pytest.mark.parametrize("batch,k,tau", [(1, 1, 0.07), (2, 5, 0.07), (3, 16, 0.5), (2, 8, 1.0)])
def test_region_infonce_equals_the_hand_written_formula(batch, k, tau):
    g = torch.Generator().manual_seed(k)
    negatives = F.normalize(torch.randn(batch, k, 12, generator=g, dtype=torch.float64), dim=-1)
    positives = F.normalize(torch.randn(batch, k, 12, generator=g, dtype=torch.float64), dim=-1)
    assert torch.allclose(region_infonce(negatives, positives, tau), reference_infonce(negatives, positives, tau), atol=1e-9)


def _painted(height=64, width=64):
    """An image whose foreground is pure red and background pure blue; the mask marks the red."""
    mask = torch.zeros(2, 1, height, width)
    mask[0, :, 8:40, 16:56] = 1
    mask[1, :, 30:62, 2:20] = 1
    image = torch.cat([mask, torch.zeros_like(mask), 1 - mask], dim=1)
    return image, mask


def test_negatives_never_leave_the_foreground_and_positives_never_leave_the_background():
    image, mask = _painted()
    g = torch.Generator().manual_seed(0)
    fg_cells, fg_valid = sample_region_cells(mask, 64, g)
    bg_cells, bg_valid = sample_region_cells(1 - mask, 64, g)
    assert fg_valid.all() and bg_valid.all()
    pooled = F.avg_pool2d(image, 4)  # the sampling map: cell colour = mean colour of its 4×4 block
    for b in range(2):
        red_at_fg = pooled[b, 0, fg_cells[b, :, 0], fg_cells[b, :, 1]]
        blue_at_bg = pooled[b, 2, bg_cells[b, :, 0], bg_cells[b, :, 1]]
        assert (red_at_fg >= 0.5).all() and (blue_at_bg >= 0.5).all()


def test_cells_are_distinct_when_enough_exist_and_repeat_only_when_needed():
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., :8, :8] = 1  # exactly 4 foreground cells
    cells, _ = sample_region_cells(mask, 3, torch.Generator().manual_seed(0))
    assert len({tuple(c) for c in cells[0].tolist()}) == 3
    cells, _ = sample_region_cells(mask, 10, torch.Generator().manual_seed(0))
    assert {tuple(c) for c in cells[0].tolist()} <= {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_same_generator_seed_gives_the_same_cells():
    _, mask = _painted()
    a = sample_region_cells(mask, 32, torch.Generator().manual_seed(3))[0]
    b = sample_region_cells(mask, 32, torch.Generator().manual_seed(3))[0]
    c = sample_region_cells(mask, 32, torch.Generator().manual_seed(4))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_crop_equals_the_loop_on_random_cells():
    sampling_map = torch.randn(2, 3, 12, 10)
    cells = torch.tensor([[[0, 0], [5, 9], [11, 4]], [[3, 3], [11, 9], [6, 0]]])
    patches = crop_patches(sampling_map, cells)
    for b in range(2):
        assert torch.equal(patches[b], crop_loop(sampling_map[b], cells[b].tolist()))


def test_crop_is_the_8x8_window_around_the_cell_with_zero_padding():
    sampling_map = torch.arange(2 * 16 * 16, dtype=torch.float32).view(1, 2, 16, 16)
    cells = torch.tensor([[[5, 6], [0, 15]]])
    patches = crop_patches(sampling_map, cells).view(1, 2, 2, 8, 8)
    assert torch.equal(patches[0, 0], sampling_map[0, :, 1:9, 2:10])
    corner = patches[0, 1]  # rows −4…3, cols 11…18: zeros outside the map
    assert torch.equal(corner[:, 4:, :5], sampling_map[0, :, 0:4, 11:16])
    assert (corner[:, :4] == 0).all() and (corner[:, :, 5:] == 0).all()


@pytest.mark.parametrize("reading", READINGS)
@pytest.mark.parametrize("case", ["empty_foreground", "empty_background", "one_cell_foreground"])
def test_loss_is_finite_for_degenerate_regions(case, reading):
    mask = torch.zeros(2, 1, 64, 64)
    if case == "empty_background":
        mask[:] = 1
    elif case == "one_cell_foreground":
        mask[:, :, 8:12, 8:12] = 1
    harmonized = torch.rand(2, 3, 64, 64, requires_grad=True)
    loss, info = HCLLoss(k=16, reading=reading)(harmonized, torch.rand(2, 3, 64, 64), mask,
                                                torch.Generator().manual_seed(0), composite=torch.rand(2, 3, 64, 64))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(harmonized.grad).all()
    if case == "one_cell_foreground":
        assert info["foreground_cells"].tolist() == [1, 1] and len(info["empty_images"]) == 0
    else:
        assert loss.item() == 0.0 and info["empty_images"].tolist() == [0, 1]


@pytest.mark.parametrize("reading", READINGS)
def test_gradients_reach_only_the_harmonized_foreground_never_target_composite_or_background(reading):
    _, mask = _painted()
    harmonized = torch.rand(2, 3, 64, 64, requires_grad=True)
    target = torch.rand(2, 3, 64, 64, requires_grad=True)
    composite = torch.rand(2, 3, 64, 64, requires_grad=True)
    loss, _ = HCLLoss(k=32, reading=reading)(harmonized, target, mask, torch.Generator().manual_seed(0), composite)
    loss.backward()
    assert harmonized.grad.abs().sum() > 0
    assert target.grad is None and composite.grad is None
    assert (harmonized.grad * (1 - mask)).abs().sum() == 0  # background pixels of H are never sampled


@pytest.mark.parametrize("patch_norm", ["standardize", "none"])
@pytest.mark.parametrize("reading", READINGS)
def test_each_reading_equals_its_hand_written_loop(reading, patch_norm):
    torch.manual_seed(5)
    image, mask = _painted(32, 32)
    harmonized, target, composite = (torch.rand(2, 3, 32, 32, dtype=torch.float64) for _ in range(3))
    loss_fn = HCLLoss(k=6, tau=0.2, reading=reading, patch_norm=patch_norm).double()
    with torch.no_grad():  # a key MLP that differs from the trained one
        for p in getattr(loss_fn, "key_embed", loss_fn.embed).parameters():
            p.add_(0.05 * torch.randn_like(p))
    value, info = loss_fn(harmonized, target, mask.double(), torch.Generator().manual_seed(1), composite)
    expected = reading_loss_loop(reading, loss_fn.embed.mlp, getattr(loss_fn, "key_embed", loss_fn.embed).mlp,
                                 harmonized, target, composite, mask.double(), info["negative_cells"],
                                 info["positive_cells"], tau=0.2, standardize=patch_norm == "standardize")
    assert torch.allclose(info["per_image"], torch.tensor(expected, dtype=torch.float64), atol=1e-9)
    assert value.item() == pytest.approx(sum(expected) / 2, abs=1e-9)


@pytest.mark.parametrize("reading", ["composite-negatives", "style", "colour"])
def test_readings_with_composite_negatives_say_clearly_when_the_composite_is_missing(reading):
    _, mask = _painted()
    with pytest.raises(ValueError, match="needs the input composite"):
        HCLLoss(k=8, reading=reading)(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64), mask)


def test_the_key_mlp_follows_the_trained_one_by_ema_and_takes_no_gradient():
    loss_fn = HCLLoss(k=8, reading="composite-negatives", key_momentum=0.9)
    assert all(not p.requires_grad for p in loss_fn.key_embed.parameters())
    with torch.no_grad():
        for p in loss_fn.embed.parameters():
            p.add_(1.0)
    before = [p.clone() for p in loss_fn.key_embed.parameters()]
    loss_fn.update_keys()
    for old, new, online in zip(before, loss_fn.key_embed.parameters(), loss_fn.embed.parameters()):
        assert torch.allclose(new, 0.9 * old + 0.1 * online)


def test_unknown_reading_is_refused_with_the_choices():
    from hcl.errors import UserInputError

    with pytest.raises(UserInputError, match="choose from"):
        HCLLoss(reading="bargain")
    assert DEFAULT_READING in READINGS


def test_region_cells_equal_the_loop():
    _, mask = _painted()
    from hcl.contrastive import region_cell_map

    cells = {tuple(c) for c in region_cell_map(mask, 4)[1].nonzero().tolist()}
    assert cells == region_cells_loop(mask[1, 0], 4)


def test_top1_accuracy_counts_strict_wins_of_the_positive():
    from hcl.contrastive import top1_accuracy

    logits = torch.tensor([[[5.0, 1.0, 2.0], [1.0, 3.0, 0.0]]])  # one query wins, one loses
    assert top1_accuracy(logits).tolist() == [0.5]
    # a collapsed embedding (every logit equal) is not a perfect one
    assert top1_accuracy(torch.zeros(2, 4, 9)).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("reading", READINGS)
def test_hcl_reports_its_accuracy_and_the_chance_level_of_each_reading(reading):
    torch.manual_seed(0)
    k = 16
    loss = HCLLoss(k=k, reading=reading)
    harmonized, target, composite = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 16:48, 16:48] = 1  # the second image has no foreground: it contributes nothing
    value, diagnostics = loss(harmonized, target, mask, torch.Generator().manual_seed(0), composite=composite)
    # spread ranks its positive against the K − 1 other queries; the others against all K negatives
    assert diagnostics["chance"] == pytest.approx(1 / k if reading == "spread" else 1 / (k + 1))
    accuracy = diagnostics["accuracy"]
    assert 0.0 <= float(accuracy[0]) <= 1.0 and math.isnan(float(accuracy[1]))


def test_a_positive_aligned_with_its_query_ranks_first():
    from hcl.contrastive import infonce_logits, top1_accuracy

    torch.manual_seed(0)
    query = F.normalize(torch.randn(1, 32, 64), dim=-1)
    negatives = F.normalize(torch.randn(1, 32, 64), dim=-1)
    assert float(top1_accuracy(infonce_logits(query, query, negatives, 0.07))[0]) == 1.0
    # and the loss at chance: equal logits give exactly ln(K+1)
    from hcl.contrastive import infonce_from_logits

    assert float(infonce_from_logits(torch.zeros(1, 32, 33))[0]) == pytest.approx(math.log(33))


def test_standardized_windows_ignore_brightness_and_contrast_and_keep_flat_ones_finite():
    torch.manual_seed(0)
    loss_fn = HCLLoss(k=8, reading="spread")
    windows = torch.rand(2, 8, 192)
    embedded = loss_fn.embed(windows)
    assert torch.allclose(loss_fn.embed(0.3 + 2.0 * windows), embedded, atol=1e-3)  # eps is small next to var
    raw = HCLLoss(k=8, reading="spread", patch_norm="none")
    assert not torch.allclose(raw.embed(0.3 + windows), raw.embed(windows), atol=1e-3)
    flat = torch.full((1, 2, 192), 0.5, requires_grad=True)
    out = loss_fn.embed(flat)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(flat.grad).all()
    assert not HCLLoss(k=8, reading="colour").embed.standardize  # moments keep their own scale


def test_a_configuration_stored_before_patch_norm_rebuilds_without_it():
    from hcl.config import RunConfig, preset

    stored = preset("tiny").to_dict()
    del stored["loss"]["patch_norm"]
    assert RunConfig.from_dict(stored).loss.patch_norm == "none"
    assert RunConfig.from_dict(preset("tiny").to_dict()).loss.patch_norm == "standardize"
