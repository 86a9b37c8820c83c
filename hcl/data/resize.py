"""``hcl data resize ROOT OUT --max-side 1024``: a resized copy of an iHarmony4 tree.

HAdobe5k images are up to 6000 px; resizing them once makes loading fast. Composites and real
images are resized with antialiasing, masks with nearest neighbour; list files are copied.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from hcl.data.imageio import read_mask, read_rgb, save_image
from hcl.data.layout import SPLITS, SUBSETS, list_triples
from hcl.errors import UserInputError


def fitted_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_tree(root, out, max_side: int = 1024, force: bool = False, progress: bool = True) -> int:
    """Copy ``root`` to ``out`` with every image's longest side at most ``max_side``; returns files written."""
    root, out = Path(root), Path(out)
    if max_side < 16:
        raise UserInputError(f"--max-side {max_side} is too small; use at least 16")
    if out.resolve() == root.resolve():
        raise UserInputError(f"{out}: OUT must differ from ROOT (originals are never overwritten)")
    if out.exists() and any(out.iterdir()) and not force:
        raise UserInputError(f"{out}: folder is not empty; choose an empty OUT or pass --force")
    triples = []
    for split in SPLITS:
        try:
            triples += list_triples(root, split)
        except UserInputError:
            pass
    if not triples:
        list_triples(root, "train")  # raises the clear layout error
    for list_file in [*root.glob("IHD_*.txt"), *[p for s in SUBSETS for p in (root / s).glob(f"{s}_*.txt")]]:
        target = out / list_file.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(list_file, target)
    written = 0
    done: set[Path] = set()
    for triple in tqdm(triples, desc="resize", unit="triple", disable=not progress):
        for path, is_mask in ((triple.composite, False), (triple.real, False), (triple.mask, True)):
            if path in done:
                continue
            done.add(path)
            target = out / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            if is_mask:
                mask = read_mask(path)
                size = fitted_size(mask.shape[1], mask.shape[0], max_side)
                image = Image.fromarray((mask * 255).astype(np.uint8)).resize(size, Image.NEAREST)
                save_image(target, np.asarray(image))
            else:
                rgb = read_rgb(path)
                size = fitted_size(rgb.shape[1], rgb.shape[0], max_side)
                save_image(target, np.asarray(Image.fromarray(rgb).resize(size, Image.BICUBIC, reducing_gap=None)))
            written += 1
    return written
