"""make-mini: determinism, photo-disjoint splits, masks that are the annotated outlines, the layout, refusing to overwrite."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from hcl.cli import main
from hcl.data import IHarmony4, SUBSETS, list_triples
from hcl.data.imageio import read_mask
from hcl.data.mini import make_mini
from hcl.errors import UserInputError
from hcl.data.recipes import crop_around
from hcl.data.photos import TEST_PHOTOS, TRAIN_PHOTOS


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_trees_and_another_seed_does_not(tmp_path):
    make_mini(tmp_path / "a", train=8, test=4, seed=5, size=48, progress=False)
    make_mini(tmp_path / "b", train=8, test=4, seed=5, size=48, progress=False)
    make_mini(tmp_path / "c", train=8, test=4, seed=6, size=48, progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_train_and_test_photos_are_disjoint(mini_root):
    photos = json.loads((mini_root / "mini.json").read_text())["photos"]
    assert set(photos["train"]).isdisjoint(photos["test"])
    assert set(TRAIN_PHOTOS).isdisjoint(TEST_PHOTOS)
    # real ids encode the split, so no real image is shared between the splits
    reals = {split: {t.real.name for t in list_triples(mini_root, split)} for split in ("train", "test")}
    assert reals["train"].isdisjoint(reals["test"])


def test_tree_has_the_ihamony4_layout_and_counts(mini_root):
    for subset in SUBSETS:
        for sub in ("composite_images", "masks", "real_images"):
            assert (mini_root / subset / sub).is_dir()
        assert (mini_root / subset / f"{subset}_train.txt").is_file()
    assert len(IHarmony4(mini_root, "train")) == 24 and len(IHarmony4(mini_root, "test")) == 12
    assert (mini_root / "CREDITS.md").read_text().count("CC") >= 1
    assert any("-" in t.name for t in list_triples(mini_root, "test", ["Hday2night"]))


def test_masks_cover_5_to_50_percent_and_composites_differ_inside_them(mini_root):
    for triple in list_triples(mini_root, "train"):
        mask = read_mask(triple.mask)
        assert 0.05 <= mask.mean() <= 0.5, triple.mask
    item = IHarmony4(mini_root, "train", image_size=None)[0]
    inside = item["mask"][0] > 0
    difference = (item["composite"] - item["real"]).abs().mean(0)
    assert difference[inside].mean() > 3 * difference[~inside].mean()


def test_masks_are_the_annotated_outlines_and_only_the_object_changes(mini_root):
    """Each mask is its object's outline cut to the recorded crop window and resized (bilinear, ½):
    recomputed here from the shipped annotations, it matches the mask file."""
    from PIL import Image
    from scipy import ndimage

    from hcl.data.imageio import read_rgb
    from hcl.data.photos import BUNDLED_ANNOTATIONS, attach_outlines, bundled_photos

    photos = bundled_photos()
    attach_outlines(photos, BUNDLED_ANNOTATIONS)
    outline = {(p.name, o.id): o.mask for split in photos.values() for p in split for o in p.outlines}
    summary = json.loads((mini_root / "mini.json").read_text())
    assert summary["masks"] == "annotated" and summary["photos_without_outlines"] == []
    checked = 0
    for triple in list_triples(mini_root, "train"):
        mask = read_mask(triple.mask)
        record = summary["provenance"][f"{triple.subset}/masks/{triple.mask.name}"]
        top, left, side = record["window"]
        crop = outline[(record["photo"], record["object"])][top:top + side, left:left + side].astype(np.float32)
        expected = np.asarray(Image.fromarray(crop).resize(mask.shape[::-1], Image.BILINEAR)) >= 0.5
        assert (mask != expected).mean() < 0.002, triple.mask  # equal up to a rounding at the odd edge pixel
        # the composite differs from the real image inside the outline only (up to JPEG's reach)
        change = np.abs(read_rgb(triple.composite).astype(int) - read_rgb(triple.real)).sum(-1)
        far = ~ndimage.binary_dilation(mask, iterations=16)
        assert change[far].max() <= 24 and change[mask].mean() > 3 * max(change[far].mean(), 0.5)
        checked += 1
    assert checked == 24


def test_objects_that_no_crop_can_frame_are_refused_with_the_rule(tmp_path):
    from PIL import Image

    from hcl.data import coco
    from hcl.errors import UserInputError

    (tmp_path / "photos").mkdir()
    images, annotations = [], []
    for i in range(2):
        Image.fromarray(np.full((200, 200, 3), 90 + 40 * i, np.uint8)).save(tmp_path / "photos" / f"p{i}.png")
        images.append({"id": i + 1, "file_name": f"p{i}.png", "height": 200, "width": 200})
        # a 3×3 object: even the tightest crop (30 % of the photo's side) leaves it under 5 %
        annotations.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "segmentation": [[10, 10, 13, 10, 13, 13, 10, 13]]})
    (tmp_path / "tiny.json").write_text(json.dumps({"images": images, "annotations": annotations,
                                                    "categories": [{"id": 1, "name": "speck"}]}))
    with pytest.raises(UserInputError, match="can be framed"):
        make_mini(tmp_path / "out", train=4, test=4, size=32, photos_dir=tmp_path / "photos",
                  annotations=tmp_path / "tiny.json", progress=False)
    assert coco.read_coco(tmp_path / "tiny.json").instances()


def test_non_empty_out_is_refused_without_force(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["data", "make-mini", str(tmp_path), "--train", "4", "--test", "4", "--size", "32"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    # --force replaces only a tree that make-mini built
    assert main(["data", "make-mini", str(tmp_path), "--train", "4", "--test", "4", "--size", "32", "--force"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path) in err and "not a set built by hcl" in err, err
    assert (tmp_path / "mine.txt").exists()


def test_user_photos_folder_can_be_the_source(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "photos").mkdir()
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (80, 90, 3), dtype=np.uint8)).save(tmp_path / "photos" / f"p{i}.png")
    with pytest.raises(UserInputError, match="--annotations"):  # outlines are needed unless regions are generated
        make_mini(tmp_path / "out", train=4, test=4, size=32, photos_dir=tmp_path / "photos", progress=False)
    summary = make_mini(tmp_path / "out", train=4, test=4, size=32, photos_dir=tmp_path / "photos", progress=False,
                        masks_from="generated")
    assert set(summary["photos"]["train"]).isdisjoint(summary["photos"]["test"])
    (tmp_path / "one").mkdir()
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "one" / "x.png")
    with pytest.raises(UserInputError, match="at least 2 photos"):
        make_mini(tmp_path / "out2", train=4, test=4, size=32, photos_dir=tmp_path / "one", progress=False,
                  masks_from="generated")


def test_a_holdout_photo_becomes_the_whole_test_split_and_leaves_training(tmp_path):
    summary = make_mini(tmp_path / "val", train=8, test=4, seed=0, size=48, progress=False, holdout="chelsea")
    assert summary["photos"]["test"] == ["chelsea"] and "chelsea" not in summary["photos"]["train"]
    assert set(summary["photos"]["train"]).isdisjoint(TEST_PHOTOS)  # the real test photos stay unseen
    two = make_mini(tmp_path / "val2", train=8, test=4, seed=0, size=48, progress=False, holdout="china,ladybird")
    assert sorted(two["photos"]["test"]) == ["china", "ladybird"] and not {"china", "ladybird"} & set(two["photos"]["train"])


def test_the_test_split_does_not_depend_on_the_training_size(tmp_path):
    make_mini(tmp_path / "small", train=8, test=4, seed=0, size=48, progress=False)
    make_mini(tmp_path / "large", train=16, test=4, seed=0, size=48, progress=False)
    for name in ("IHD_test.txt",):
        assert (tmp_path / "small" / name).read_text() == (tmp_path / "large" / name).read_text()
    tests = [line.split("/")[-1] for line in (tmp_path / "small" / "IHD_test.txt").read_text().split()]
    for name in tests:  # byte for byte, whatever --train is
        assert next((tmp_path / "small").rglob(name)).read_bytes() == next((tmp_path / "large").rglob(name)).read_bytes()


@pytest.mark.parametrize("bad", ["coffee", "motorcycle_left", "nope"])
def test_holdout_must_be_a_training_photo_of_its_own_scene(tmp_path, bad):
    from hcl.errors import UserInputError

    with pytest.raises(UserInputError, match="--holdout"):
        make_mini(tmp_path / "val", train=8, test=4, seed=0, size=48, progress=False, holdout=bad)


class _TripleBytes:
    """A built set's triples as the digests of their composite, mask and real files, without the file names."""

    def __init__(self, root):
        self.root, self.digests = root, _digest(root)

    def of(self, split, digit=None):  # digit: only the triples whose real id carries it (c0…, c2…)
        return sorted(tuple(self.digests[str(p.relative_to(self.root))] for p in (t.composite, t.mask, t.real))
                      for t in list_triples(self.root, split) if digit is None or t.composite.name[1] == digit)


def _refused(argv, capsys) -> str:
    """Run the CLI on arguments it must refuse: exit code 1; returns what it wrote to stderr."""
    try:
        returned = main(argv)
    except SystemExit as stop:
        returned = stop.code
    assert returned == 1
    return capsys.readouterr().err


def test_a_mixed_set_trains_on_both_kinds_of_mask_and_tests_on_outlines_only(tmp_path):
    kwargs = dict(train=8, test=4, seed=3, size=48, progress=False, holdout="chelsea")
    main(["data", "make-mini", str(tmp_path / "mixed"), "--masks", "mixed", "--train", "8", "--test", "4", "--seed", "3",
          "--size", "48", "--holdout", "chelsea"])
    mixed = json.loads((tmp_path / "mixed" / "mini.json").read_text())
    outlines = make_mini(tmp_path / "outlines", masks_from="annotated", **kwargs)
    make_mini(tmp_path / "regions", masks_from="generated", **kwargs)
    assert mixed["masks"] == "mixed"
    assert mixed["counts"]["train"] == {s: 2 * n for s, n in outlines["counts"]["train"].items()}
    assert mixed["counts"]["test"] == outlines["counts"]["test"]
    sets = {name: _TripleBytes(tmp_path / name) for name in ("mixed", "outlines", "regions")}

    # the outline half carries the train digit 0, the generated half 2, each exactly as its single-kind set
    # makes it; nothing else trains, and the test split is the outline set's
    assert sets["mixed"].of("train", "0") == sets["outlines"].of("train")
    assert sets["mixed"].of("train", "2") == sets["regions"].of("train")
    assert len(sets["mixed"].of("train")) == len(sets["outlines"].of("train")) + len(sets["regions"].of("train"))
    assert sets["mixed"].of("test") == sets["outlines"].of("test")
    assert all(key.startswith(("annotated: ", "generated: ")) for key in mixed["how_made"]["train"])


def test_a_mixed_sets_generated_share_is_its_own_count(tmp_path):
    """--generated-train N: the generated half is the train split that --masks generated --train N makes, the
    outline half and the test split stay the --train set's."""
    kwargs = dict(test=4, seed=1, size=48, progress=False, holdout="chelsea")
    main(["data", "make-mini", str(tmp_path / "mixed"), "--masks", "mixed", "--train", "8", "--generated-train", "24",
          "--test", "4", "--seed", "1", "--size", "48", "--holdout", "chelsea"])
    outlines = make_mini(tmp_path / "outlines", masks_from="annotated", train=8, **kwargs)
    regions = make_mini(tmp_path / "regions", masks_from="generated", train=24, **kwargs)
    mixed = json.loads((tmp_path / "mixed" / "mini.json").read_text())
    assert sum(mixed["counts"]["train"].values()) == 8 + 24
    assert "outlines (8 triples) and generated regions (24 triples)" in (tmp_path / "mixed" / "CREDITS.md").read_text()
    assert {s: mixed["counts"]["train"][s] - outlines["counts"]["train"][s] for s in SUBSETS} == regions["counts"]["train"]
    sets = {name: _TripleBytes(tmp_path / name) for name in ("mixed", "outlines", "regions")}

    assert sets["mixed"].of("train", "0") == sets["outlines"].of("train")
    assert sets["mixed"].of("train", "2") == sets["regions"].of("train")
    assert sets["mixed"].of("test") == sets["outlines"].of("test")


def _widened(tmp_path, flag, train, generated_train):
    """A mixed validation set made by the CLI with ``flag`` and the same set without it: (with, without), each
    as (mini.json, triple digests, CREDITS.md)."""
    kwargs = dict(train=train, generated_train=generated_train, test=4, seed=2, size=32, progress=False,
                  holdout="chelsea", masks_from="mixed")
    main(["data", "make-mini", str(tmp_path / "with"), "--masks", "mixed", "--train", str(train), "--generated-train",
          str(generated_train), "--test", "4", "--seed", "2", "--size", "32", "--holdout", "chelsea", flag])
    make_mini(tmp_path / "without", **kwargs)
    return [(json.loads((tmp_path / name / "mini.json").read_text()), _TripleBytes(tmp_path / name),
             (tmp_path / name / "CREDITS.md").read_text()) for name in ("with", "without")]


def _pool_indices(triples: _TripleBytes, digit: str) -> set[int]:
    """The photo indices in the pool that a half's real ids carry (``c<digit><photo index:02d>…``)."""
    return {int(t.composite.name[2:4]) for t in list_triples(triples.root, "train") if t.composite.name[1] == digit}


def test_extra_photos_widen_only_the_generated_half(tmp_path):
    """--extra-photos: generated-region triples also crop the photos nobody outlined; the outline half and
    the test split are byte for byte the set without them, and the extra photos are credited."""
    from hcl.data.photos import EXTRA_PHOTOS, TRAIN_PHOTOS

    (extra, sets, credits), (plain, plain_sets, plain_credits) = _widened(tmp_path, "--extra-photos", 8, 100)
    assert sets.of("train", "0") == plain_sets.of("train", "0")
    assert sets.of("test") == plain_sets.of("test")
    assert sets.of("train", "2") != plain_sets.of("train", "2")
    assert extra["counts"] == plain["counts"] and extra["extra_photos"] == list(EXTRA_PHOTOS) and "extra_photos" not in plain
    assert max(_pool_indices(sets, "2")) >= len(TRAIN_PHOTOS) - 1  # chelsea held out: extras come after the outlined
    assert all(f"- {name}: " in credits for name in EXTRA_PHOTOS) and "- dune: " not in plain_credits


def test_extra_photos_leave_a_generated_sets_test_split_alone(tmp_path):
    """With --masks generated the test split's colour sources stay the outlined training photos."""
    kwargs = dict(train=8, test=8, seed=4, size=32, progress=False, masks_from="generated")
    make_mini(tmp_path / "extra", extra=True, **kwargs)
    make_mini(tmp_path / "plain", **kwargs)
    sets = {name: _TripleBytes(tmp_path / name) for name in ("extra", "plain")}
    assert sets["extra"].of("test") == sets["plain"].of("test")
    assert sets["extra"].of("train") != sets["plain"].of("train")


@pytest.mark.parametrize("flag, args, message", [
    ("--extra-photos", [], "--masks generated or mixed"),
    ("--extra-photos", ["--masks", "mixed", "--photos", "PHOTOS"], "put more photos in your folder"),
    ("--extra-outlines", ["--masks", "generated"], "--masks annotated or mixed"),
    ("--extra-outlines", ["--photos", "PHOTOS"], "put more photos")])
def test_the_extra_photo_flags_are_refused_where_they_add_nothing(tmp_path, capsys, flag, args, message):
    """--extra-photos for an outline-only set, --extra-outlines for a generated one, either with your own photos."""
    photos = tmp_path / "photos"
    photos.mkdir()
    args = [str(photos) if a == "PHOTOS" else a for a in args]
    error = _refused(["data", "make-mini", str(tmp_path / "set"), "--train", "8", "--test", "4", "--size", "48",
                      flag, *args], capsys)
    assert flag in error and message in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "set").exists()


def test_extra_outlines_widen_only_the_outline_half(tmp_path):
    """--extra-outlines: outline triples also crop the extra photos we outlined; the generated half and the
    test split are byte for byte the set without them, and the photos it adds are credited."""
    from hcl.data.photos import TRAIN_PHOTOS, extra_outlined_photos

    (extra, sets, credits), (plain, plain_sets, plain_credits) = _widened(tmp_path, "--extra-outlines", 60, 8)
    assert sets.of("train", "2") == plain_sets.of("train", "2")
    assert sets.of("test") == plain_sets.of("test")
    assert sets.of("train", "0") != plain_sets.of("train", "0")
    added = [p.name for p in extra_outlined_photos()]
    assert extra["counts"] == plain["counts"] and extra["extra_outlined_photos"] == added
    assert extra["extra_outlined_objects"] == sum(len(p.outlines) for p in extra_outlined_photos()) == 18
    assert "extra_outlined_photos" not in plain and "extra_photos" not in extra
    trained_on = {entry["photo"] for key, entry in extra["provenance"].items() if key.split("/masks/")[1][1] == "0"}
    assert trained_on & set(added) and "chelsea" not in trained_on
    assert max(_pool_indices(sets, "0")) >= len(TRAIN_PHOTOS) - 1  # chelsea held out: extras come after the nine
    assert all(f"- {name}: " in credits for name in added) and "- kite: " not in plain_credits


def test_both_extra_flags_widen_both_halves_and_credit_each_photo_once(tmp_path):
    from hcl.data.photos import EXTRA_PHOTOS

    kwargs = dict(train=40, generated_train=40, test=4, seed=5, size=32, progress=False, holdout="chelsea", masks_from="mixed")
    both = make_mini(tmp_path / "both", extra=True, extra_outlines=True, **kwargs)
    make_mini(tmp_path / "outlines", extra_outlines=True, **kwargs)
    make_mini(tmp_path / "photos", extra=True, **kwargs)
    sets = {name: _TripleBytes(tmp_path / name) for name in ("both", "outlines", "photos")}
    assert sets["both"].of("train", "0") == sets["outlines"].of("train", "0")
    assert sets["both"].of("train", "2") == sets["photos"].of("train", "2")
    assert sets["both"].of("test") == sets["photos"].of("test")
    assert both["extra_photos"] == list(EXTRA_PHOTOS) and len(both["extra_outlined_photos"]) == 10
    credits = (tmp_path / "both" / "CREDITS.md").read_text()
    assert all(credits.count(f"- {name}: ") == 1 for name in EXTRA_PHOTOS)


def test_the_extra_outlines_are_objects_of_the_extra_photos_that_a_crop_can_frame():
    from hcl.data import masks
    from hcl.data.coco import read_coco
    from hcl.data.photos import EXTRA_ANNOTATIONS, EXTRA_PHOTOS, extra_outlined_photos

    photos = extra_outlined_photos()
    assert {Path(i.file_name).stem for i in read_coco(EXTRA_ANNOTATIONS).images.values()} == {p.name for p in photos}
    assert {p.name for p in photos} <= set(EXTRA_PHOTOS) and len(photos) == 10
    for photo in photos:
        for index, outline in enumerate(photo.outlines):
            assert outline.mask.shape == photo.pixels.shape[:2] and outline.category
            assert 0.002 < outline.mask.mean() < 0.7, (photo.name, outline.category)
            framed = crop_around(photo.pixels, [o.mask for o in photo.outlines], index,
                                 np.random.default_rng(0), 64, (masks.MIN_COVERAGE, masks.MAX_COVERAGE))
            assert framed is not None, (photo.name, outline.category)


@pytest.mark.parametrize("args", [["--generated-train", "24"], ["--masks", "mixed", "--generated-train", "0"]])
def test_generated_train_is_refused_outside_a_mixed_set_or_when_not_positive(tmp_path, capsys, args):
    error = _refused(["data", "make-mini", str(tmp_path / "set"), "--train", "8", "--test", "4", "--size", "48", *args], capsys)
    assert "--generated-train" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "set" / "mini.json").exists()


def test_a_refused_generated_train_leaves_an_existing_set_alone_even_with_force(tmp_path):
    from hcl.errors import UserInputError

    make_mini(tmp_path / "set", train=8, test=4, seed=0, size=48, progress=False)
    before = _digest(tmp_path / "set")
    for changes, message in ((dict(masks_from="annotated", generated_train=24), "only with --masks mixed"),
                             (dict(masks_from="mixed", generated_train=0), "at least 1")):
        with pytest.raises(UserInputError, match=message):
            make_mini(tmp_path / "set", train=8, test=4, seed=0, size=48, progress=False, force=True, **changes)
    with pytest.raises(UserInputError, match="--holdout"):
        make_mini(tmp_path / "set", train=8, test=4, seed=0, size=48, progress=False, force=True, holdout="nope")
    assert _digest(tmp_path / "set") == before


def test_every_shipped_photo_is_credited_and_loads():
    from hcl.data.photos import CREDITS, PACKAGED, PHOTO_FOLDER, _load_bundled

    shipped = sorted(p.stem for p in PHOTO_FOLDER.glob("*.jpg"))
    assert shipped == sorted(PACKAGED)
    credits_file = (PHOTO_FOLDER / "CREDITS.md").read_text()
    for name in shipped:
        assert f"`{name}.jpg`" in credits_file and CREDITS[name]
        photo = _load_bundled(name)
        assert photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3 and max(photo.pixels.shape[:2]) == 768
    for licence in ("GPL-2", "GPL-3", "LGPL-3"):  # the texts the shipped photos' licences require to travel with them
        assert "GNU" in (PHOTO_FOLDER / "licences" / f"{licence}.txt").read_text()
