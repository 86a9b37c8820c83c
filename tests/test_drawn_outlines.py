"""Outlines as drawn by hand: the annotation tool's ``--unsnapped`` output, other outlines of the extra photos
(``make_mini(extra_annotations=…)``) and the union of two outline files (tools/drawn_outlines.py)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hcl.data.coco import read_coco, write_coco
from hcl.errors import UserInputError
from hcl.data.mini import make_mini
from hcl.data.photos import EXTRA_ANNOTATIONS, extra_outlined_photos

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


def _square(x0, y0, side):
    return [[x0, y0, x0 + side, y0, x0 + side, y0 + side, x0, y0 + side]]


@pytest.mark.parametrize("separate", [False, True])
def test_union_holds_both_outlines_of_every_object(tmp_path, separate):
    """Both outlines of every object; with ``separate`` the second file's under categories of their own ("cup
    (drawn)"), so that a colour source of the same category is never an object's own twin."""
    from drawn_outlines import union

    images = [{"file_name": "a", "height": 20, "width": 30}, {"file_name": "b", "height": 10, "width": 10}]
    write_coco(tmp_path / "one.json", images, ["cup"],
               [{"image": 0, "category": "cup", "segmentation": _square(2, 2, 5)},
                {"image": 1, "category": "cup", "segmentation": _square(1, 1, 4)}])
    # the second file lists its images in another order and has a category the first lacks
    write_coco(tmp_path / "two.json", images[::-1], ["kite", "cup"],
               [{"image": 1, "category": "cup", "segmentation": _square(3, 3, 6)},
                {"image": 0, "category": "kite", "segmentation": _square(2, 2, 3)}])
    both = read_coco(union(tmp_path / "one.json", tmp_path / "two.json", tmp_path / "out" / "both.json", separate))
    by_name = {image.file_name: image for image in both.images.values()}
    areas = {name: sorted((inst.category, int(both.mask(inst).sum())) for inst in image.instances)
             for name, image in by_name.items()}
    drawn = "{} (drawn)" if separate else "{}"
    assert areas == {"a": sorted([("cup", 25), (drawn.format("cup"), 36)]),
                     "b": sorted([("cup", 16), (drawn.format("kite"), 9)])}
    assert len({inst.id for inst in both.instances()}) == 4


def test_extra_annotations_replace_the_extra_outlines(tmp_path, capsys):
    """Other outlines of the extra photos: only the photos they outline join, with exactly those masks."""
    shipped = json.loads(EXTRA_ANNOTATIONS.read_text())
    kite = next(image for image in shipped["images"] if image["file_name"] == "kite")
    write_coco(tmp_path / "mine.json", [{k: kite[k] for k in ("file_name", "height", "width")}], ["box"],
               [{"image": 0, "category": "box", "segmentation": _square(40, 30, 200)}])
    [photo] = extra_outlined_photos(tmp_path / "mine.json")
    assert photo.name == "kite" and [o.category for o in photo.outlines] == ["box"]
    assert photo.outlines[0].mask.sum() == 200 * 200
    summary = make_mini(tmp_path / "set", train=12, test=4, size=32, progress=False, holdout="chelsea",
                        extra_outlines=True, extra_annotations=tmp_path / "mine.json")
    assert summary["extra_outlined_photos"] == ["kite"] and summary["extra_outlined_objects"] == 1
    with pytest.raises(UserInputError, match="extra_outlines"):  # ignored otherwise: refused
        make_mini(tmp_path / "other", train=12, test=4, size=32, progress=False, extra_annotations=tmp_path / "mine.json")
    assert not (tmp_path / "other").exists()
    # the same from the command line (hcl data make-mini --extra-annotations)
    from hcl.cli import main

    common = ["--train", "12", "--test", "4", "--size", "32", "--holdout", "chelsea"]
    write_coco(tmp_path / "none.json", [{"file_name": "not-an-extra-photo", "height": 9, "width": 9}], ["box"],
               [{"image": 0, "category": "box", "segmentation": _square(1, 1, 4)}])
    for extra, says in ((["--extra-annotations", str(tmp_path / "mine.json")], "add it"),
                        (["--extra-outlines", "--extra-annotations", str(tmp_path / "missing.json")], "no such file"),
                        (["--extra-outlines", "--extra-annotations", str(tmp_path / "none.json")], "outlines none of")):
        assert main(["data", "make-mini", str(tmp_path / "cli"), *common, *extra]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and extra[-1] in err and says in err, err
        assert not (tmp_path / "cli").exists()
    assert main(["data", "make-mini", str(tmp_path / "cli"), *common, "--extra-outlines",
                 "--extra-annotations", str(tmp_path / "mine.json")]) == 0
    made = json.loads((tmp_path / "cli" / "mini.json").read_text())
    assert made["extra_outlined_photos"] == ["kite"] and made["extra_outlined_objects"] == 1


def test_agreement_matches_objects_by_photo_and_category(tmp_path):
    """Objects are paired by photo, category and rank, whatever order the files list them in; IoU by hand."""
    from drawn_outlines import agreement

    images = [{"file_name": "a", "height": 20, "width": 20}]
    write_coco(tmp_path / "drawn.json", images, ["kite", "cup"],
               [{"image": 0, "category": "kite", "segmentation": _square(0, 0, 4)},
                {"image": 0, "category": "cup", "segmentation": _square(10, 10, 6)}])
    write_coco(tmp_path / "snapped.json", images, ["cup", "kite"],
               [{"image": 0, "category": "cup", "segmentation": _square(10, 10, 3)},
                {"image": 0, "category": "kite", "segmentation": _square(0, 0, 4)}])
    assert sorted(agreement(tmp_path / "drawn.json", tmp_path / "snapped.json")) == [9 / 36, 1.0]
    write_coco(tmp_path / "fewer.json", images, ["cup"], [{"image": 0, "category": "cup", "segmentation": _square(1, 1, 3)}])
    with pytest.raises(SystemExit, match="different objects"):
        agreement(tmp_path / "drawn.json", tmp_path / "fewer.json")


@pytest.mark.slow
def test_unsnapped_outlines_are_the_lines_as_drawn(tmp_path):
    """--unsnapped keeps each drawn line (its objects in front cut out): near the snapped outline, not equal to it."""
    from annotate_bundled import rough_mask
    from drawn_outlines import agreement

    out = tmp_path / "drawn.json"
    subprocess.run([sys.executable, str(ROOT / "tools" / "annotate_bundled.py"), "--unsnapped", "--out", str(out)],
                   check=True, capture_output=True, cwd=ROOT)
    rough = json.loads((ROOT / "tools" / "rough_outlines.json").read_text())
    ious = agreement(out)
    assert len(ious) == sum(len(objects) for objects in rough["photos"].values())
    assert 0.6 < min(ious) and max(ious) < 1.0 and 0.9 < np.median(ious)
    drawn = read_coco(out)
    astronaut = drawn.images[1]
    [person, *_] = astronaut.instances
    line = rough_mask(rough["photos"]["astronaut"][0], astronaut.height, astronaut.width, rough)
    mask = drawn.mask(person)  # polygons re-traced from the mask: equal to the drawn line but for edge pixels
    assert (mask & line).sum() / (mask | line).sum() > 0.99


def test_more_outlines_keeps_the_committed_ones_and_appends_the_new(tmp_path):
    from more_outlines import more_annotations

    rough = {"band": 12, "photos": {"wood": [{"category": "plank", "polygon": [[100, 250], [500, 250], [500, 450], [100, 450]]}],
                                    "kite": [{"category": "cloud", "ellipse": [780, 100, 80, 60]}]}}
    (tmp_path / "rough.json").write_text(json.dumps(rough))
    out = more_annotations(tmp_path / "rough.json", tmp_path / "more.json")
    committed, more = read_coco(EXTRA_ANNOTATIONS), read_coco(out)

    def masks(coco):
        return {(image.file_name, i): coco.mask(inst) for image in coco.images.values()
                for i, inst in enumerate(image.instances)}

    before, after = masks(committed), masks(more)
    assert all(np.array_equal(after[key], mask) for key, mask in before.items())
    added = sorted(set(after) - set(before))
    kites = sum(1 for name, _ in before if name == "kite")
    assert added == [("kite", kites), ("wood", 0)]
    for key in added:  # snapped near the drawn shape, not empty, not the whole photo
        assert 0.01 < after[key].mean() < 0.5
