"""``hcl data check`` catches each fault with one line and exit 1; ``hcl data resize`` keeps the layout."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hcl.cli import main
from hcl.data import IHarmony4, list_triples


def _break(tree, fault):
    triple = list_triples(tree, "train")[0]
    if fault == "missing":
        triple.real.unlink()
    elif fault == "unreadable":
        triple.composite.write_bytes(b"not an image")
    elif fault == "size mismatch":
        Image.fromarray(np.zeros((7, 9, 3), np.uint8)).save(triple.composite, format="JPEG")
    elif fault == "empty mask":
        Image.fromarray(np.zeros((32, 48), np.uint8)).save(triple.mask)
    elif fault == "not single-channel":
        colour = np.zeros((32, 48, 3), np.uint8)
        colour[..., 0] = 255
        Image.fromarray(colour).save(triple.mask)
    return triple


def test_a_clean_tree_passes_with_a_count_table(fixture_tree, capsys):
    assert main(["data", "check", str(fixture_tree)]) == 0
    out = capsys.readouterr().out
    assert "HCOCO" in out and "Hday2night" in out and "OK" in out


@pytest.mark.parametrize("fault", ["missing", "unreadable", "size mismatch", "empty mask", "not single-channel"])
def test_each_fault_is_reported_on_one_line_naming_the_file(fixture_tree, capsys, fault):
    triple = _break(fixture_tree, fault)
    assert main(["data", "check", str(fixture_tree)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("hcl: error:")]
    assert len(lines) == 1 and fault in lines[0]
    named = {"missing": triple.real, "unreadable": triple.composite, "size mismatch": triple.composite}.get(fault, triple.mask)
    assert named.name in lines[0]
    assert "Traceback" not in err


def test_check_of_a_folder_that_is_no_dataset_fails_cleanly(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "IHD_train.txt" in err


def test_resize_keeps_layout_and_limits_the_longest_side(fixture_tree, tmp_path, capsys):
    out = tmp_path / "small"
    assert main(["data", "resize", str(fixture_tree), str(out), "--max-side", "24"]) == 0
    assert main(["data", "check", str(out)]) == 0
    item = IHarmony4(out, "train", image_size=None)[0]
    assert max(item["composite"].shape[1:]) == 24 and item["mask"].shape[1:] == item["composite"].shape[1:]
    capsys.readouterr()
    assert main(["data", "resize", str(fixture_tree), str(out)]) == 1  # non-empty OUT refused
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out) in err and "--force" in err, err
