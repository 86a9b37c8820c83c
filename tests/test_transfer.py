"""The four HCOCO colour-transfer families: each gives the foreground the statistic it promises."""

from __future__ import annotations

import numpy as np
import pytest

from hcl.data import transfer


def _scene(seed=0):
    """A smooth image (values inside (0.2, 0.8), so nothing clips) and a reference of other colours."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:64] / 64
    base = np.stack([0.5 + 0.2 * np.sin(6 * xx), 0.4 + 0.15 * np.cos(5 * yy), 0.45 + 0.1 * np.sin(4 * (xx + yy))], -1)
    image = np.clip(base + rng.normal(0, 0.03, base.shape), 0.2, 0.8)
    reference = np.clip(rng.multivariate_normal([0.55, 0.45, 0.35], [[0.006, 0.003, 0], [0.003, 0.005, 0], [0, 0, 0.004]],
                                                (40, 40)), 0.2, 0.8)
    region = np.zeros((48, 64), bool)
    region[10:40, 12:50] = True
    return image, region, reference


@pytest.mark.parametrize("family", transfer.FAMILIES)
def test_only_the_region_changes_and_an_empty_region_changes_nothing(family):
    image, region, reference = _scene()
    out = transfer.transfer(family, image, region, reference, rng=np.random.default_rng(0))
    assert (out[~region] == image[~region]).all()
    assert np.abs(out[region] - image[region]).mean() > 0.01
    empty = transfer.transfer(family, image, np.zeros_like(region), reference, rng=np.random.default_rng(0))
    assert np.isfinite(empty).all() and (empty == image).all()


def test_reinhard_matches_lab_mean_and_std():
    image, region, reference = _scene()
    out = transfer.reinhard_transfer(image, region, reference)
    from skimage.color import rgb2lab  # measured outside the module under test

    def lab_statistics(pixels):
        lab = rgb2lab(pixels.reshape(-1, 1, 3).astype(np.float64)).reshape(-1, 3)
        return lab.mean(0), lab.std(0)

    mean_out, std_out = lab_statistics(out[region])
    mean_ref, std_ref = lab_statistics(reference.reshape(-1, 3))
    assert np.allclose(mean_out, mean_ref, atol=0.05) and np.allclose(std_out, std_ref, rtol=0.02)


def test_correlated_matches_rgb_mean_and_full_covariance():
    image, region, reference = _scene()
    out = transfer.correlated_transfer(image, region, reference)[region]
    target = reference.reshape(-1, 3)
    assert np.allclose(out.mean(0), target.mean(0), atol=1e-6)
    assert np.allclose(np.cov(out.T, bias=True), np.cov(target.T, bias=True), atol=1e-5)


def test_histogram_matching_gives_every_channel_the_reference_quantiles():
    image, region, reference = _scene()
    out = transfer.histogram_transfer(image, region, reference)[region]
    quantiles = np.linspace(0.02, 0.98, 25)
    for c in range(3):
        assert np.allclose(np.quantile(out[:, c], quantiles), np.quantile(reference[..., c], quantiles), atol=0.01)
    # monotone per channel: the order of pixels along each channel is kept
    source = image[region]
    assert (np.diff(out[np.argsort(source[:, 0]), 0]) >= -1e-12).all()


def _sliced_distance(a, b, rng):
    total = 0.0
    for _ in range(16):
        direction = rng.standard_normal(3)
        direction /= np.linalg.norm(direction)
        q = np.linspace(0.01, 0.99, 50)
        total += np.abs(np.quantile(a @ direction, q) - np.quantile(b @ direction, q)).mean()
    return total / 16


def test_idt_moves_the_whole_3d_distribution_toward_the_reference():
    image, region, reference = _scene()
    rng = np.random.default_rng(1)
    target = reference.reshape(-1, 3)
    out = transfer.idt_transfer(image, region, reference, rng=np.random.default_rng(0))
    before, after = _sliced_distance(image[region], target, rng), _sliced_distance(out[region], target, rng)
    assert after < 0.35 * before
    # one global affine map per channel (Reinhard) cannot match a correlated reference as closely
    affine = transfer.reinhard_transfer(image, region, reference)
    assert after < _sliced_distance(affine[region], target, rng)


def test_regrain_solves_its_screened_poisson_equation():
    image, region, _ = _scene()
    rng = np.random.default_rng(2)
    recoloured = image.copy()
    recoloured[region] = np.clip(image[region] * 0.7 + 0.2 + rng.normal(0, 0.05, image[region].shape), 0, 1)
    out = transfer.regrain(image, recoloured, region, smoothness=1.0)
    assert (out[~region] == recoloured[~region]).all()
    # the optimum of ‖∇(o − s)‖² + ‖o − t‖²: its gradient L(o − s) + (o − t) vanishes on the region
    index = -np.ones(region.shape, int)
    index[region] = np.arange(region.sum())
    o, s, t = out[..., 0], image[..., 0], recoloured[..., 0]
    residual = np.zeros(region.shape)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        shifted = np.roll(np.roll(region, dy, 0), dx, 1)
        neighbour_in = region & shifted
        if dy == 1:
            neighbour_in[0, :] = False
        if dy == -1:
            neighbour_in[-1, :] = False
        if dx == 1:
            neighbour_in[:, 0] = False
        if dx == -1:
            neighbour_in[:, -1] = False
        d = o - s
        residual += np.where(neighbour_in, d - np.roll(np.roll(d, dy, 0), dx, 1), 0)
    residual += o - t
    assert np.abs(residual[region]).max() < 5e-3
    # and the grain of the recolouring is smoothed away: the output is closer to the original's detail
    def detail(x):
        return x[1:-1, 1:-1] * 4 - x[:-2, 1:-1] - x[2:, 1:-1] - x[1:-1, :-2] - x[1:-1, 2:]
    inner = region[1:-1, 1:-1]
    assert np.abs(detail(o) - detail(s))[inner].mean() < 0.6 * np.abs(detail(t) - detail(s))[inner].mean()
