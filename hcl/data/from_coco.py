"""``hcl data from-coco``: an HCOCO-style set from COCO-format instance annotations.

The way iHarmony4's HCOCO was made (Cong et al., CVPR 2020): for every kept instance (not a crowd
region, covering ``min_area``–``max_area`` of its image), composites whose foreground is that
instance recoloured by colour transfer from another instance of the same category (from another
image where possible), with one of four transfer families, filtered so the change is neither
negligible nor absurd (:mod:`hcl.data.recipes`). Real images are the annotated photos; masks are the
instances, decoded exactly (:mod:`hcl.data.coco`). Train and test are split by image.

Everything random comes from ``numpy.random.default_rng([seed, image id])``: the same seed gives
byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from hcl.data.coco import CocoImage, read_coco
from hcl.data.imageio import encode, read_rgb
from hcl.data.layout import SPLITS
from hcl.data.recipes import Reference, choose_reference, recolour, reference_pixels
from hcl.errors import UserInputError
from hcl.files import prepare_output

MARKER = "from_coco.json"


def _check_arguments(per_instance: int, test_share: float, min_area: float, max_area: float) -> None:
    if per_instance < 1:
        raise UserInputError(f"--per-instance {per_instance}: make at least 1 composite per instance")
    if not 0 <= test_share < 1:
        raise UserInputError(f"--test-share {test_share}: choose a share in [0, 1)")
    if not 0 <= min_area < max_area <= 1:
        raise UserInputError(f"--min-area {min_area} --max-area {max_area}: need 0 ≤ min-area < max-area ≤ 1 "
                             "(shares of the image)")


def _load(images: Path, entry: CocoImage, annotations: Path) -> np.ndarray:
    path = images / entry.file_name
    if not path.is_file():
        raise UserInputError(f"{path}: image {entry.id} of {annotations} not found; pass --images the folder that "
                             "holds the annotation file's images")
    pixels = read_rgb(path)
    if pixels.shape[:2] != (entry.height, entry.width):
        raise UserInputError(f"{path}: is {pixels.shape[0]}×{pixels.shape[1]} but {annotations} says "
                             f"{entry.height}×{entry.width}; use the images the annotations were made on")
    return pixels


def from_coco(images: str | Path, annotations: str | Path, out: str | Path, per_instance: int = 1,
              test_share: float = 0.2, seed: int = 0, min_area: float = 0.05, max_area: float = 0.5,
              force: bool = False, progress: bool = True) -> dict:
    """Write an iHarmony4-layout set (subset HCOCO) under ``out``; returns a summary."""
    images, out = Path(images), Path(out)
    _check_arguments(per_instance, test_share, min_area, max_area)
    if not images.is_dir():
        raise UserInputError(f"{images}: no such folder; pass --images the folder holding the annotated images")
    coco = read_coco(annotations)
    prepare_output(out, force, marker=MARKER)

    # instances kept: not crowds, area in range; images without any are left out
    kept: dict[int, list] = {}
    for entry in sorted(coco.images.values(), key=lambda e: e.id):
        chosen = []
        for instance in entry.instances:
            if instance.iscrowd:
                continue
            mask = coco.mask(instance)
            if min_area <= mask.mean() <= max_area:
                chosen.append((instance, mask))
        if chosen:
            kept[entry.id] = chosen
    if sum(len(v) for v in kept.values()) < 2:
        raise UserInputError(f"{coco.path}: fewer than 2 instances are not crowds and cover {min_area}–{max_area} of "
                             "their image; colour transfer needs a source — widen --min-area/--max-area")
    order = np.random.default_rng([seed]).permutation(sorted(kept))
    n_test = int(round(test_share * len(order)))
    if test_share > 0 and len(order) >= 2:
        n_test = min(max(n_test, 1), len(order) - 1)
    split_of = {int(i): ("test" if rank < n_test else "train") for rank, i in enumerate(order)}

    bar = tqdm(total=2 * len(kept), desc="from-coco", unit="image", disable=not progress)
    references: dict[str, list[Reference]] = {split: [] for split in SPLITS}
    owner: dict[str, list[int]] = {split: [] for split in SPLITS}
    for image_id, chosen in kept.items():  # colour sources: every kept instance of the split
        pixels = _load(images, coco.images[image_id], coco.path)
        for instance, mask in chosen:
            references[split_of[image_id]].append(Reference(str(image_id), instance.category, reference_pixels(pixels, mask)))
            owner[split_of[image_id]].append(instance.id)
        bar.update(1)

    # test composites may take colour from training instances (colour statistics only); training
    # composites never see a test image
    references["test"] = references["test"] + references["train"]
    owner["test"] = owner["test"] + owner["train"]
    lists = {split: [] for split in SPLITS}
    rules: dict[str, int] = {}
    dropped = 0
    for image_id, chosen in kept.items():
        split = split_of[image_id]
        pixels = _load(images, coco.images[image_id], coco.path)
        rng = np.random.default_rng([seed, image_id])
        real_id = f"c{image_id}"
        (out / "HCOCO" / "real_images").mkdir(parents=True, exist_ok=True)
        (out / "HCOCO" / "masks").mkdir(parents=True, exist_ok=True)
        (out / "HCOCO" / "composite_images").mkdir(parents=True, exist_ok=True)
        (out / "HCOCO" / "real_images" / f"{real_id}.jpg").write_bytes(encode(pixels, "JPEG"))
        for instance, mask in chosen:
            (out / "HCOCO" / "masks" / f"{real_id}_{instance.id}.png").write_bytes(encode((mask * 255).astype(np.uint8), "PNG"))
            for k in range(1, per_instance + 1):
                if len(references[split]) < 2:
                    dropped += 1
                    continue
                reference, rule = choose_reference(instance.category, str(image_id), references[split], rng,
                                                   exclude=owner[split].index(instance.id))
                composite, how, passed = recolour(pixels, mask, "HCOCO", rng, reference)
                if not passed:  # iHarmony4 dropped composites whose change was negligible or absurd
                    dropped += 1
                    continue
                name = f"{real_id}_{instance.id}_{k}.jpg"
                (out / "HCOCO" / "composite_images" / name).write_bytes(encode(composite, "JPEG"))
                lists[split].append(name)
                key = f"{how} ({rule})"
                rules[key] = rules.get(key, 0) + 1
        bar.update(1)
    bar.close()
    for split in SPLITS:
        (out / "HCOCO").mkdir(parents=True, exist_ok=True)
        (out / "HCOCO" / f"HCOCO_{split}.txt").write_text("".join(f"{n}\n" for n in lists[split]))
        (out / f"IHD_{split}.txt").write_text("".join(f"HCOCO/composite_images/{n}\n" for n in lists[split]))
    summary = {"annotations": str(coco.path), "images": str(images), "seed": seed, "per_instance": per_instance,
               "area": [min_area, max_area], "test_share": test_share,
               "images_used": {split: sum(1 for i in kept if split_of[i] == split) for split in SPLITS},
               "instances": {split: sum(len(v) for i, v in kept.items() if split_of[i] == split) for split in SPLITS},
               "composites": {split: len(lists[split]) for split in SPLITS},
               "dropped_by_filter": dropped, "how_made": dict(sorted(rules.items()))}
    (out / MARKER).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if not lists["train"] and not lists["test"]:
        raise UserInputError(f"{coco.path}: every composite fell outside the change filter; nothing was written to the lists")
    return summary
