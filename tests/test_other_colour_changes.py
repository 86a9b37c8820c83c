"""The four colour changes hcl never makes (tools/other_colour_changes.py): what each does to pixels, that only the
mask's pixels change, determinism, and the rebuilt set's layout."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from other_colour_changes import CHANGES, FAMILIES, LUMA, rebuild, recolour  # noqa: E402

from hcl.data.imageio import read_mask, read_rgb  # noqa: E402
from hcl.data.layout import list_triples  # noqa: E402
from hcl.errors import UserInputError  # noqa: E402


def _pixels(n=200, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 0.8, size=(n, 3))


def test_matrix_is_one_affine_map_per_draw():
    """The same draw maps the midpoint of two colours to the midpoint of their images (affine), and mixes channels."""
    x, y = _pixels(50, 1), _pixels(50, 2)
    f = [CHANGES["matrix"](p, np.random.default_rng(7)) for p in (x, y, (x + y) / 2)]
    np.testing.assert_allclose(f[2], (f[0] + f[1]) / 2, atol=1e-12)
    only_red = np.zeros((1, 3))
    only_red[0, 0] = 0.5
    change = CHANGES["matrix"](only_red, np.random.default_rng(7)) - CHANGES["matrix"](np.zeros((1, 3)), np.random.default_rng(7))
    assert np.all(np.abs(change[0, 1:]) > 0), "red input should move green and blue too"


@pytest.mark.parametrize("seed", range(20))
def test_curves_are_monotone_and_per_channel(seed):
    """Each channel's curve keeps the order of its values and reads its own channel only."""
    ramp = np.repeat(np.linspace(0, 1, 101)[:, None], 3, axis=1)
    out = CHANGES["curves"](ramp, np.random.default_rng(seed))
    assert np.all(np.diff(out, axis=0) >= -1e-12)
    assert not np.allclose(out, ramp, atol=0.02)
    other = ramp.copy()
    other[:, 1] = 0.5  # green changed, red and blue kept
    again = CHANGES["curves"](other, np.random.default_rng(seed))
    np.testing.assert_allclose(again[:, [0, 2]], out[:, [0, 2]])


def test_split_toning_moves_linearly_with_luminance():
    """Black moves by the shadow tint, white by the highlight tint, mid-grey by their mean."""
    greys = np.array([[0.0] * 3, [1.0] * 3, [0.5] * 3])
    shift = CHANGES["split-toning"](greys, np.random.default_rng(5)) - greys
    np.testing.assert_allclose(shift[2], (shift[0] + shift[1]) / 2, atol=1e-12)
    assert np.linalg.norm(shift[0] - shift[1]) > 0.05


@pytest.mark.parametrize("seed", range(5))
def test_fade_lifts_blacks_lowers_contrast_and_saturation_and_casts_every_grey_alike(seed):
    greys = np.array([[0.0] * 3, [0.3] * 3, [0.9] * 3])
    out = CHANGES["fade"](greys, np.random.default_rng(seed))
    assert np.all(out[0] > 0.04), "blacks are lifted"
    ratios = out / out[:, :1]
    np.testing.assert_allclose(ratios[1], ratios[2], rtol=1e-12)
    np.testing.assert_allclose(ratios[0], ratios[2], rtol=1e-12)
    # the same draw on a grey and a saturated colour, the cast's direction divided out (what is left of it, its
    # luminance, is at most 1.05): washing-out (at least 20 %) and lift (at least 5 %) shrink the colour's spread
    # between channels to at most 0.8 * 0.95 of it, and the step between two greys to at most 0.95
    cast = out[2] / (out[2] @ LUMA)
    red = np.array([[0.9, 0.1, 0.1]])
    faded_red = CHANGES["fade"](red, np.random.default_rng(seed))[0] / cast
    assert np.ptp(faded_red) <= 0.8 * 0.95 * 1.05 * np.ptp(red), "saturation is lowered"
    dark, light = CHANGES["fade"](np.array([[0.1] * 3, [0.8] * 3]), np.random.default_rng(seed)) @ LUMA
    assert light - dark <= 0.95 * 1.05 * 0.7, "contrast is lowered"


@pytest.mark.parametrize("family", FAMILIES)
def test_recolour_changes_the_mask_only_and_repeats_with_its_seed(family):
    real = (np.random.default_rng(0).uniform(30, 220, size=(24, 32, 3))).astype(np.uint8)
    mask = np.zeros((24, 32), bool)
    mask[5:15, 8:20] = True
    first = recolour(real, mask, family, np.random.default_rng(4))
    np.testing.assert_array_equal(first[~mask], real[~mask])
    assert np.abs(first[mask].astype(int) - real[mask]).mean() > 3
    np.testing.assert_array_equal(first, recolour(real, mask, family, np.random.default_rng(4)))
    assert not np.array_equal(first, recolour(real, mask, family, np.random.default_rng(5)))


def test_rebuild_keeps_masks_and_real_images_and_changes_composites_inside_masks(mini_root, tmp_path):
    out = rebuild(mini_root, "fade", tmp_path / "faded")
    source, rebuilt = list_triples(mini_root, "test"), list_triples(out, "test")
    assert [t.composite.relative_to(mini_root) for t in source] == [t.composite.relative_to(out) for t in rebuilt]
    with pytest.raises(UserInputError, match="IHD_train.txt"):
        list_triples(out, "train")  # a test split only
    for old, new in zip(source[:5], rebuilt):
        assert new.mask.read_bytes() == old.mask.read_bytes()
        assert new.real.read_bytes() == old.real.read_bytes()
        real, composite = read_rgb(new.real).astype(int), read_rgb(new.composite).astype(int)
        mask = read_mask(new.mask, real.shape[:2])
        assert np.abs(composite - real)[~mask].mean() < 3  # JPEG's error only
        assert np.abs(composite - real)[mask].mean() > 5
    before = [t.composite.read_bytes() for t in rebuilt]
    (out / rebuilt[0].subset / "composite_images" / "stray.jpg").write_bytes(b"x")
    rebuild(mini_root, "fade", tmp_path / "faded")  # replaced: the stray file gone, the composites byte for byte
    assert not (out / rebuilt[0].subset / "composite_images" / "stray.jpg").exists()
    assert [t.composite.read_bytes() for t in list_triples(out, "test")] == before


def test_rebuild_refuses_a_folder_it_did_not_make(mini_root, tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("mine")
    with pytest.raises(UserInputError, match="choose another --build folder"):
        rebuild(mini_root, "matrix", theirs)
    assert (theirs / "keep.txt").read_text() == "mine"
