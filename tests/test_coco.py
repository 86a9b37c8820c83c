"""COCO-format masks: hand-made cases, the run-length text format, and pycocotools as a second opinion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hcl.data import coco
from hcl.errors import UserInputError


def test_uncompressed_counts_run_down_the_columns_starting_with_zeros():
    # 3 rows × 2 columns, column-major: 0 | 1 1 | 0 0 0
    mask = coco.decode_counts([1, 2, 3], 3, 2)
    assert mask.tolist() == [[False, False], [True, False], [True, False]]
    assert coco.encode_counts(mask) == [1, 2, 3]
    # a mask starting with a foreground pixel starts with a zero-length run of zeros
    assert coco.encode_counts(np.ones((2, 2), bool)) == [0, 4]


def test_compressed_counts_match_a_hand_encoding():
    # worked by hand: 0 → '0'; 40 → groups 8|0x20, 1 → 'X1'; 10 → ':'; 5 − 40 = −35 → groups 29|0x20, 30 → 'mN'
    assert coco.counts_to_string([0, 40, 10, 5]) == "0X1:mN"
    assert coco.counts_from_string("0X1:mN") == [0, 40, 10, 5]
    assert coco.counts_to_string([1, 2, 3]) == "123"


def test_polygons_of_fewer_than_three_points_enclose_nothing_and_malformed_ones_are_named():
    # COCO has a few two-point "polygons": they add nothing to the union, as in pycocotools' users' filters
    mask = coco.segmentation_mask([[0, 0, 4, 0, 4, 4, 0, 4], [1, 1, 2, 2]], 6, 6)
    assert mask.sum() == 16
    with pytest.raises(ValueError, match="lists of numbers"):
        coco.segmentation_mask([0, 0, 4, 0, 4, 4], 6, 6)  # a flat list, not a list of polygons
    with pytest.raises(ValueError, match="even number"):
        coco.segmentation_mask([[0, 0, 4, 0, 4]], 6, 6)


def test_an_rle_of_another_size_is_named_with_its_annotation(tmp_path):
    payload = json.loads(json.dumps(GOOD))
    payload["annotations"][0]["segmentation"] = coco.encode_rle(np.ones((5, 4), bool))
    data = coco.read_coco(_write(tmp_path, payload))
    with pytest.raises(UserInputError, match=r"annotation 3: RLE size 5×4 differs from the image's 4×4"):
        data.mask(data.instances()[0])


def test_bad_run_lengths_are_rejected():
    with pytest.raises(ValueError, match="sum"):
        coco.decode_counts([1, 2], 3, 2)
    with pytest.raises(ValueError, match="cannot occur"):
        coco.counts_from_string("0 1")


def test_polygons_cover_the_pixels_their_outline_encloses():
    full = coco.polygon_mask([0, 0, 6, 0, 6, 5, 0, 5], 5, 6)
    assert full.all()
    block = coco.polygon_mask([1, 1, 4, 1, 4, 3, 1, 3], 5, 6)
    expected = np.zeros((5, 6), bool)
    expected[1:3, 1:4] = True  # rows 1–2, columns 1–3: the 3×2 pixels inside the outline
    assert (block == expected).all()
    # a list of polygons is their union
    union = coco.segmentation_mask([[0, 0, 2, 0, 2, 2, 0, 2], [4, 3, 6, 3, 6, 5, 4, 5]], 5, 6)
    assert union.sum() == 8 and union[0, 0] and union[4, 5] and not union[2, 3]
    with pytest.raises(ValueError, match="at least 6"):
        coco.polygon_mask([0, 0, 1, 1], 5, 6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools vs NumPy 2, not ours
def test_decoding_agrees_with_pycocotools_on_random_polygons_and_rle():
    from pycocotools import mask as reference  # in the test extra: a second, independent implementation

    rng = np.random.default_rng(0)
    for trial in range(400):
        height, width = (int(v) for v in rng.integers(4, 50, 2))
        points = int(rng.integers(3, 12))
        xy = np.stack([rng.uniform(-2, width + 2, points), rng.uniform(-2, height + 2, points)], 1)
        if trial % 2:
            xy = np.round(xy * 2) / 2  # vertices on pixel corners and centres: the tie cases
        polygon = xy.ravel().tolist()
        theirs = reference.decode(reference.merge(reference.frPyObjects([polygon], height, width))).astype(bool)
        assert (coco.polygon_mask(polygon, height, width) == theirs).all(), (trial, polygon)
        rle = reference.encode(np.asfortranarray(theirs.astype(np.uint8)))
        assert coco.encode_rle(theirs)["counts"] == rle["counts"].decode()
        assert (coco.segmentation_mask({"size": rle["size"], "counts": rle["counts"]}, height, width) == theirs).all()


def _write(tmp_path, payload) -> str:
    path = tmp_path / "instances.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return str(path)


GOOD = {"images": [{"id": 1, "file_name": "a.png", "height": 4, "width": 4}],
        "categories": [{"id": 7, "name": "cup"}],
        "annotations": [{"id": 3, "image_id": 1, "category_id": 7, "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]]}]}


@pytest.mark.parametrize("change, message", [
    (lambda d: d["annotations"][0].update(category_id=9), "category 9, which is not in 'categories'"),
    (lambda d: d["annotations"][0].update(image_id=2), "image 2, which is not in 'images'"),
    (lambda d: d.pop("categories"), "needs the lists"),
    (lambda d: d["images"].append(dict(d["images"][0])), "appears twice"),
    (lambda d: d["annotations"][0].pop("segmentation"), "no 'segmentation'"),
    (lambda d: d["categories"].append({"id": 7, "name": "mug"}), "category id 7 appears twice"),
])
def test_bad_annotation_files_get_one_clear_line(tmp_path, change, message):
    payload = json.loads(json.dumps(GOOD))
    change(payload)
    with pytest.raises(UserInputError, match=message) as error:
        coco.read_coco(_write(tmp_path, payload))
    assert "instances.json" in str(error.value) and "\n" not in str(error.value)


def test_unreadable_json_and_a_missing_file_are_named(tmp_path):
    with pytest.raises(UserInputError, match="not valid JSON"):
        coco.read_coco(_write(tmp_path, "{not json"))
    with pytest.raises(UserInputError, match="not found"):
        coco.read_coco(tmp_path / "absent.json")


def test_a_good_file_reads_and_its_masks_decode(tmp_path):
    data = coco.read_coco(_write(tmp_path, GOOD))
    (instance,) = data.instances()
    assert instance.category == "cup" and not instance.iscrowd
    assert data.mask(instance).sum() == 4


def test_the_shipped_outlines_cover_every_bundled_photo_with_at_least_20_objects():
    from hcl.data.photos import BUNDLED_ANNOTATIONS, TEST_PHOTOS, TRAIN_PHOTOS, attach_outlines, bundled_photos

    photos = bundled_photos()
    assert attach_outlines(photos, BUNDLED_ANNOTATIONS) == []
    objects = [o for split in photos.values() for p in split for o in p.outlines]
    assert len(objects) >= 20
    assert {p.name for split in photos.values() for p in split} == set(TRAIN_PHOTOS) | set(TEST_PHOTOS)
    for o in objects:  # outlines of objects, not the whole frame and not a speck
        assert 0.003 < o.mask.mean() < 0.75, o
