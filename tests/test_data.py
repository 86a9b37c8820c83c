"""The loader (layout, naming rule, resizing, augmentation) and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from PIL import Image
from torch.utils.data import DataLoader

from hcl.data import IHarmony4, list_triples, split_composite_name
from hcl.data.dataset import colour_change
from hcl.errors import UserInputError
from tests.conftest import REAL_STYLE_NAMES, write_fixture_tree


def test_names_are_parsed_from_the_right_so_day2night_ids_keep_their_dash():
    assert split_composite_name("d90000012-181_1_7.jpg") == ("d90000012-181", "1", "7")
    assert split_composite_name("c100300_1602094_1.jpg") == ("c100300", "1602094", "1")
    with pytest.raises(UserInputError, match="<realid>_<maskid>_<k>"):
        split_composite_name("broken.jpg")


@pytest.mark.parametrize("with_root_lists", [True, False])
def test_every_composite_is_paired_with_its_own_mask_and_real_image(tmp_path, with_root_lists):
    write_fixture_tree(tmp_path, with_root_lists=with_root_lists)
    for split, count in (("train", 5), ("test", 4)):
        triples = list_triples(tmp_path, split)
        assert len(triples) == count
        for t in triples:
            real_id, mask_id, _ = split_composite_name(t.name)
            assert t.mask.name == f"{real_id}_{mask_id}.png" and t.mask.is_file()
            assert t.real.name == f"{real_id}.jpg" and t.real.is_file()
    day = [t for t in list_triples(tmp_path, "train") if t.subset == "Hday2night"][0]
    assert day.real.name == "d90000012-181.jpg"


def test_items_carry_the_pixels_of_their_own_files(fixture_tree):
    dataset = IHarmony4(fixture_tree, "train", image_size=None)
    for index in range(len(dataset)):
        item = dataset[index]
        real = np.asarray(Image.open(dataset.triples[index].real))
        mask = np.asarray(Image.open(dataset.triples[index].mask)) >= 128
        assert torch.allclose(item["real"], torch.from_numpy(real.copy()).permute(2, 0, 1).float() / 255)
        assert torch.equal(item["mask"][0].bool(), torch.from_numpy(mask))
        # the composite shares the real image's red channel by construction
        assert torch.allclose(item["composite"][0], item["real"][0], atol=3 / 255)
        assert item["subset"] in REAL_STYLE_NAMES and item["name"].endswith(".jpg")


def test_items_have_the_documented_types_shapes_and_ranges(fixture_tree):
    item = IHarmony4(fixture_tree, "test", image_size=64)[0]
    assert item["composite"].shape == item["real"].shape == (3, 64, 64)
    assert item["mask"].shape == (1, 64, 64)
    assert item["composite"].dtype == item["mask"].dtype == torch.float32
    assert set(item["mask"].unique().tolist()) <= {0.0, 1.0}
    assert 0 <= item["real"].min() and item["real"].max() <= 1


def test_subsets_filter_the_lists(fixture_tree):
    dataset = IHarmony4(fixture_tree, "train", subsets=["Hday2night"], image_size=32)
    assert {dataset[i]["subset"] for i in range(len(dataset))} == {"Hday2night"}


def _striped_tree(root, size=(40, 30)):
    """A single triple whose composite, mask and real share one pattern: x-coordinate stripes."""
    write_fixture_tree(root, size=size)
    pattern = (np.arange(size[0])[None, :].repeat(size[1], 0) * 6).astype(np.uint8)
    for t in list_triples(root, "train") + list_triples(root, "test"):
        Image.fromarray(np.stack([pattern] * 3, -1)).save(t.composite.with_suffix(".png"))
        t.composite.with_suffix(".png").rename(t.composite)
        Image.fromarray(np.stack([pattern] * 3, -1)).save(t.real.with_suffix(".png"))
        t.real.with_suffix(".png").rename(t.real)
        Image.fromarray(np.where(pattern >= 120, 255, 0).astype(np.uint8)).save(t.mask)


@settings(max_examples=15, deadline=None)
@given(index=st.integers(0, 4), seed=st.integers(0, 10_000), epoch=st.integers(0, 3))
def test_augmentation_applies_one_crop_and_flip_to_composite_mask_and_real(tmp_path_factory, index, seed, epoch):
    root = tmp_path_factory.mktemp("striped")
    _striped_tree(root)
    dataset = IHarmony4(root, "train", image_size=24, augment=True, seed=seed)
    dataset.set_epoch(epoch)
    item = dataset[index]
    assert torch.allclose(item["composite"], item["real"])
    jittered = IHarmony4(root, "train", image_size=24, augment=True, seed=seed, colour_jitter=0.3)[index]
    plain = IHarmony4(root, "train", image_size=24, augment=True, seed=seed)[index]  # same epoch (0), no jitter
    assert torch.allclose(jittered["composite"], jittered["real"])  # one colour change for both
    assert not torch.allclose(jittered["real"], plain["real"], atol=1e-3)  # and it did change the colours
    assert torch.equal(jittered["mask"], plain["mask"])  # the same crop and flip
    # the mask was cut from the same stripes (white where stripe ≥ 120): after the shared crop,
    # flip and resize, mask and image must still agree, up to one resized stripe of blur
    real, mask = item["real"][0], item["mask"][0] > 0.5
    tolerance = 24 / 255
    assert (real[mask] >= 120 / 255 - tolerance).all()
    assert (real[~mask] <= 120 / 255 + tolerance).all()


@settings(max_examples=15, deadline=None)
@given(index=st.integers(0, 4), seed=st.integers(0, 10_000))
def test_foreground_jitter_changes_only_the_composites_foreground(tmp_path_factory, index, seed):
    root = tmp_path_factory.mktemp("striped")
    _striped_tree(root)
    kwargs = dict(image_size=24, augment=True, seed=seed, colour_jitter=0.2)
    plain = IHarmony4(root, "train", **kwargs)[index]
    changed = IHarmony4(root, "train", foreground_jitter=0.4, **kwargs)[index]
    assert torch.equal(changed["real"], plain["real"])  # the target is untouched
    assert torch.equal(changed["mask"], plain["mask"])  # the same crop, flip and colour jitter
    # the crop is resized bilinearly, so pixels next to the mask mix in foreground colour: away from it,
    # the background must be bit for bit the plain item's
    near_mask = torch.nn.functional.max_pool2d(changed["mask"][None], 5, 1, 2)[0].bool().expand(3, -1, -1)
    assert torch.equal(changed["composite"][~near_mask], plain["composite"][~near_mask])
    inside = changed["mask"].bool().expand(3, -1, -1)
    if inside.any():
        assert not torch.allclose(changed["composite"][inside], plain["composite"][inside], atol=1e-3)
    again = IHarmony4(root, "train", foreground_jitter=0.4, **kwargs)[index]  # a pure function of (seed, epoch, index)
    assert torch.equal(again["composite"], changed["composite"])


@pytest.mark.parametrize("setting", ["colour_jitter", "foreground_jitter"])
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5])
def test_jitter_outside_its_range_is_refused(fixture_tree, setting, value):
    with pytest.raises(UserInputError, match="must be in \\[0, 1\\)"):
        IHarmony4(fixture_tree, "train", image_size=16, augment=True, **{setting: value})


def test_seeded_augmentation_is_a_function_of_seed_epoch_and_index(fixture_tree):
    a = IHarmony4(fixture_tree, "train", image_size=16, augment=True, seed=3)
    b = IHarmony4(fixture_tree, "train", image_size=16, augment=True, seed=3)
    assert torch.equal(a[1]["mask"], b[1]["mask"])
    b.set_epoch(1)
    crops = {tuple(b._crop_box(1, 32, 48)) for _ in range(3)}
    assert len(crops) == 1 and crops != {tuple(a._crop_box(1, 32, 48))}


def test_loader_works_with_worker_processes(mini_root):
    """With a seed (as training runs), worker processes give the batch the main process gives: crops and jitter
    depend on (seed, epoch, item), not on which process loads it."""
    dataset = IHarmony4(mini_root, "train", image_size=32, augment=True, colour_jitter=0.3, seed=0)
    batch = next(iter(DataLoader(dataset, batch_size=4, num_workers=2)))
    alone = next(iter(DataLoader(dataset, batch_size=4, num_workers=0)))
    assert batch["composite"].shape == (4, 3, 32, 32) and batch["name"] == alone["name"]
    for key in ("composite", "real", "mask"):
        assert torch.equal(batch[key], alone[key]), key


def test_a_mask_of_another_size_is_rejected_naming_the_file(fixture_tree):
    triple = list_triples(fixture_tree, "test")[0]
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(triple.mask)
    dataset = IHarmony4(fixture_tree, "test", image_size=16)
    with pytest.raises(UserInputError, match=triple.mask.name):
        dataset[0]


@pytest.mark.parametrize("problem,says", [("missing_root", r"nowhere: no such folder; point --data"),
                                          ("no_lists", r"empty: .*build one with: hcl data make-mini"),
                                          ("bad_split", r"'val'.*pass --split train or --split test"),
                                          ("bad_subset", r"'HCOCO2'.*choose from")])
def test_bad_layouts_give_clear_errors(tmp_path, fixture_tree, problem, says):
    with pytest.raises(UserInputError, match=says):  # names the folder or value, and the fix
        if problem == "missing_root":
            IHarmony4(tmp_path / "nowhere", "train")
        elif problem == "no_lists":
            (tmp_path / "empty").mkdir()
            IHarmony4(tmp_path / "empty", "train")
        elif problem == "bad_split":
            IHarmony4(fixture_tree, "val")
        else:
            IHarmony4(fixture_tree, "train", subsets=["HCOCO2"])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_colour_jitter_keeps_the_composites_background_equal_to_the_real_images(seed):
    generator = torch.Generator().manual_seed(seed)
    real = torch.rand(3, 16, 16, generator=generator)
    mask = torch.zeros(1, 16, 16)
    mask[:, 4:12, 2:10] = 1
    composite = torch.where(mask.bool(), (real * 0.3 + 0.6).clamp(0, 1), real)  # a much brighter foreground
    change = [float(v) for v in 1 + 0.3 * (2 * torch.rand(6, generator=generator) - 1)]
    jittered_composite, jittered_real = colour_change(composite, *change), colour_change(real, *change)
    background = ~mask.bool().expand(3, -1, -1)
    assert torch.equal(jittered_composite[background], jittered_real[background])
    assert not torch.allclose(jittered_real, real, atol=1e-3)
