"""``hcl data from-coco`` on small COCO-format files written here: the HCOCO recipe end to end."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from hcl.cli import main
from hcl.data import coco, list_triples
from hcl.data.check import check_tree
from hcl.data.from_coco import from_coco
from hcl.data.imageio import read_mask, read_rgb


def _photo(seed, height=72, width=96):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([120 + 60 * np.sin(xx / (9 + seed)), 100 + 50 * np.cos(yy / 7), 90 + 40 * np.sin((xx + yy) / 11)], -1)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def _ellipse(height, width, cy, cx, ry, rx):
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def write_set(root, missing_image=False):
    """Four images; instances as a polygon, compressed RLE, uncompressed RLE, a crowd, one too small,
    and a category ('kite') with a single instance."""
    (root / "images").mkdir(parents=True)
    images, annotations = [], []
    for i in range(4):
        if not (missing_image and i == 3):
            Image.fromarray(_photo(i)).save(root / "images" / f"im{i}.png")
        images.append({"id": 10 + i, "file_name": f"im{i}.png", "height": 72, "width": 96})
    cups = [_ellipse(72, 96, 36, 30 + 10 * i, 18, 14) for i in range(4)]
    annotations.append({"id": 100, "image_id": 10, "category_id": 1, "segmentation": [[16, 20, 44, 20, 44, 52, 16, 52]]})
    annotations.append({"id": 101, "image_id": 11, "category_id": 1, "segmentation": coco.encode_rle(cups[1])})
    annotations.append({"id": 102, "image_id": 12, "category_id": 1,
                        "segmentation": {"size": [72, 96], "counts": coco.encode_counts(cups[2])}})
    annotations.append({"id": 103, "image_id": 13, "category_id": 1, "segmentation": coco.encode_rle(cups[3])})
    annotations.append({"id": 104, "image_id": 12, "category_id": 2, "iscrowd": 1,
                        "segmentation": coco.encode_rle(_ellipse(72, 96, 20, 75, 12, 12))})
    annotations.append({"id": 105, "image_id": 10, "category_id": 2, "segmentation": [[80, 5, 84, 5, 84, 9, 80, 9]]})
    annotations.append({"id": 106, "image_id": 11, "category_id": 3, "segmentation": [[60, 40, 90, 40, 90, 70, 60, 70]]})
    payload = {"images": images, "annotations": annotations,
               "categories": [{"id": 1, "name": "cup"}, {"id": 2, "name": "person"}, {"id": 3, "name": "kite"}]}
    (root / "instances.json").write_text(json.dumps(payload))
    return payload


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_coco_file_becomes_a_valid_hcoco_set_whose_masks_are_the_instances(tmp_path):
    payload = write_set(tmp_path)
    summary = from_coco(tmp_path / "images", tmp_path / "instances.json", tmp_path / "out", per_instance=2,
                        test_share=0.25, progress=False)
    counts, faults = check_tree(tmp_path / "out", progress=False)
    assert not faults and counts["HCOCO"]["train"] + counts["HCOCO"]["test"] == 10  # 5 kept instances × 2
    assert summary["instances"] == {"train": 4, "test": 1} or summary["instances"] == {"train": 3, "test": 2}
    by_id = {a["id"]: a for a in payload["annotations"]}
    masks = sorted((tmp_path / "out" / "HCOCO" / "masks").glob("*.png"))
    assert {int(p.stem.split("_")[1]) for p in masks} == {100, 101, 102, 103, 106}  # no crowd, nothing too small
    for path in masks:
        annotation = by_id[int(path.stem.split("_")[1])]
        assert (read_mask(path) == coco.segmentation_mask(annotation["segmentation"], 72, 96)).all(), path
    for split in ("train", "test"):
        for triple in list_triples(tmp_path / "out", split):
            real, composite, mask = read_rgb(triple.real), read_rgb(triple.composite), read_mask(triple.mask)
            source = _photo(int(triple.real.stem[1:]) - 10)
            # the real image is the annotated photo, through JPEG at quality 95 (these noisy photos are its worst case)
            assert 10 * np.log10(255**2 / ((real.astype(float) - source) ** 2).mean()) > 35
            far = ~ndimage.binary_dilation(mask, iterations=24)  # JPEG blocks that do not touch the object
            assert (composite[far] == real[far]).all()
            change = ((composite.astype(float) - real)[mask] ** 2).mean()
            assert 40 < change < 3500  # the filter's range, with JPEG's error on top
    # the split is by image: no real image in both
    reals = {split: {t.real.name for t in list_triples(tmp_path / "out", split)} for split in ("train", "test")}
    assert reals["train"].isdisjoint(reals["test"])
    # the single kite has no other kite: its colour came from another category
    assert any("other category" in key for key in summary["how_made"])


def test_jpeg_sources_are_the_real_images_byte_for_byte(tmp_path):
    write_set(tmp_path)
    payload = json.loads((tmp_path / "instances.json").read_text())
    for image in payload["images"]:  # the same photos as JPEG files
        png = tmp_path / "images" / image["file_name"]
        Image.open(png).save(png.with_suffix(".jpg"), quality=90)
        image["file_name"] = png.with_suffix(".jpg").name
    (tmp_path / "jpeg.json").write_text(json.dumps(payload))
    summary = from_coco(tmp_path / "images", tmp_path / "jpeg.json", tmp_path / "out", progress=False)
    for real_id, file_name in summary["real_images"].items():
        assert (tmp_path / "out" / "HCOCO" / "real_images" / f"{real_id}.jpg").read_bytes() == \
            (tmp_path / "images" / file_name).read_bytes()
    for triple in list_triples(tmp_path / "out", "train"):
        real, composite, mask = read_rgb(triple.real).astype(int), read_rgb(triple.composite).astype(int), read_mask(triple.mask)
        assert np.abs(composite - real)[~mask].max() <= 6  # the background: the photo, through JPEG at quality 100


def test_same_seed_gives_byte_identical_sets(tmp_path):
    write_set(tmp_path)
    for name in ("a", "b"):
        from_coco(tmp_path / "images", tmp_path / "instances.json", tmp_path / name, seed=3, progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_a_missing_image_is_named_with_the_fix(tmp_path, capsys):
    write_set(tmp_path, missing_image=True)
    code = main(["data", "from-coco", "--images", str(tmp_path / "images"), "--annotations",
                 str(tmp_path / "instances.json"), str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "im3.png" in err and "--images" in err and "Traceback" not in err


def test_unknown_category_reference_and_bad_options_are_one_line_errors(tmp_path, capsys):
    payload = write_set(tmp_path)
    payload["annotations"][0]["category_id"] = 42
    (tmp_path / "bad.json").write_text(json.dumps(payload))
    assert main(["data", "from-coco", "--images", str(tmp_path / "images"), "--annotations",
                 str(tmp_path / "bad.json"), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hcl: error:") and "Traceback" not in err
    assert "bad.json" in err and "category 42" in err and "correct its category_id" in err
    assert main(["data", "from-coco", "--images", str(tmp_path / "images"), "--annotations",
                 str(tmp_path / "instances.json"), str(tmp_path / "out"), "--min-area", "0.6"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--min-area 0.6" in err and "min-area < max-area" in err
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_an_out_folder_the_user_owns_is_not_touched(tmp_path, capsys):
    write_set(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    for extra, says in (([], "pass --force"), (["--force"], "not a set built by hcl")):
        assert main(["data", "from-coco", "--images", str(tmp_path / "images"), "--annotations",
                     str(tmp_path / "instances.json"), str(tmp_path / "out"), *extra]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(tmp_path / "out") in err and says in err, err
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize("masks_from", ["annotated", "generated"])
def test_make_mini_takes_a_users_photos_with_their_outlines(tmp_path, masks_from):
    from hcl.data.mini import make_mini

    write_set(tmp_path)
    extra = {"annotations": tmp_path / "instances.json"} if masks_from == "annotated" else {}
    summary = make_mini(tmp_path / "mini", train=8, test=4, size=48, photos_dir=tmp_path / "images",
                        masks_from=masks_from, progress=False, **extra)
    assert summary["masks"] == masks_from
    counts, faults = check_tree(tmp_path / "mini", progress=False)
    assert not faults and sum(c["train"] for c in counts.values()) == 8
