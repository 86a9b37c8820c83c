"""Shared fixtures: a small mini-iHarmony4 (built once per session) and a fixture tree that uses
real iHarmony4 file names for all four subsets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CI_MINI = REPO / "build" / "ci-mini"

# one name per subset in the real dataset's style; Hday2night ids contain '-'
REAL_STYLE_NAMES = {
    "HCOCO": ["c100300_1602094_1.jpg", "c100300_1602094_2.jpg", "c100301_1602100_1.jpg"],
    "HAdobe5k": ["a0001_1_1.jpg", "a0001_1_2.jpg"],
    "HFlickr": ["f100_1_1.jpg", "f101_1_3.jpg"],
    "Hday2night": ["d90000012-181_1_7.jpg", "d90000012-181_2_1.jpg"],
}


def build_ci_mini() -> Path:
    """The small mini-iHarmony4 that tests and CI notebooks share (built once, reused)."""
    from hcl.data.mini import make_mini

    if not (CI_MINI / "mini.json").is_file():
        make_mini(CI_MINI, train=24, test=12, seed=0, size=64, force=True, progress=False)
    return CI_MINI


@pytest.fixture(scope="session")
def mini_root() -> Path:
    return build_ci_mini()


def _solid(value, size):
    return np.full((size[1], size[0], 3), value, dtype=np.uint8)


def write_fixture_tree(root: Path, size=(48, 32), with_root_lists=True) -> dict:
    """A tree in the real layout where each triple's pixels encode who it is:
    real = index·10 in R, composite = index·10 + 5 in R, mask = a distinct rectangle."""
    identities = {}
    index = 1
    for subset, names in REAL_STYLE_NAMES.items():
        folder = root / subset
        for sub in ("composite_images", "masks", "real_images"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        for name in names:
            stem = name[:-4]
            real_id, mask_id, _ = stem.rsplit("_", 2)
            real_path = folder / "real_images" / f"{real_id}.jpg"
            mask_path = folder / "masks" / f"{real_id}_{mask_id}.png"
            if not real_path.exists():
                value = 20 * index
                Image.fromarray(_solid((value, 0, 0), size)).save(real_path, quality=100)
                identities[real_id] = value
            if not mask_path.exists():
                mask = np.zeros((size[1], size[0]), np.uint8)
                mask[2:2 + 2 * index % (size[1] - 4) + 2, 3:20] = 255
                Image.fromarray(mask).save(mask_path)
            Image.fromarray(_solid((identities[real_id], 200, 0), size)).save(folder / "composite_images" / name, quality=100)
            index += 1
        (folder / f"{subset}_train.txt").write_text("\n".join(names[:-1]) + "\n")
        (folder / f"{subset}_test.txt").write_text(names[-1] + "\n")
    if with_root_lists:
        for split, pick in (("train", slice(None, -1)), ("test", slice(-1, None))):
            lines = [f"{s}/composite_images/{n}" for s, names in REAL_STYLE_NAMES.items() for n in names[pick]]
            (root / f"IHD_{split}.txt").write_text("\n".join(lines) + "\n")
    return identities


@pytest.fixture
def fixture_tree(tmp_path) -> Path:
    write_fixture_tree(tmp_path / "tree")
    return tmp_path / "tree"


@pytest.fixture(autouse=True)
def _few_threads():
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def users_output_folder(tmp_path: Path, owned: str) -> tuple[Path, dict]:
    """``tmp_path/out`` holding a file of the user's named ``owned`` (or, for "OUT is a file", being one),
    and every file under ``tmp_path`` with its bytes, to compare after a refused command."""
    out = tmp_path / "out"
    if owned == "OUT is a file":
        out.write_text("mine")
    else:
        out.mkdir()
        (out / owned).write_text('{"mine": 1}')
    return out, files_with_bytes(tmp_path)


def files_with_bytes(folder: Path) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
