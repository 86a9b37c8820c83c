"""``hcl data from-coco``: an HCOCO-style set from COCO-format instance annotations.

The way iHarmony4's HCOCO was made (Cong et al., CVPR 2020): for every kept instance (not a crowd
region, covering ``min_area``–``max_area`` of its image), composites whose foreground is that
instance recoloured by colour transfer from another instance of the same category (from another
image where possible; test composites may take colours from training instances, never the reverse),
with one of four transfer families applied in full, filtered so the change is neither negligible nor
absurd (:mod:`hcl.data.recipes`). Train and test are split by image.

Files: image ``id`` → real image ``HCOCO/real_images/c<id>.jpg`` (the source file's own bytes when it
is a JPEG, so the real image *is* the photo), annotation ``a`` → mask ``c<id>_<a>.png`` (the instance,
decoded exactly by :mod:`hcl.data.coco`), composites ``c<id>_<a>_<k>.jpg`` (JPEG quality 100: the
background differs from the real image by JPEG rounding only). ``from_coco.json`` records the
options, counts and which source file each real image came from.

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
from hcl.data.recipes import Reference, ReferencePool, recolour, reference_pixels
from hcl.errors import UserInputError
from hcl.files import prepare_output

MARKER = "from_coco.json"
COMPOSITE_QUALITY = 100
FULL_TRANSFER = (1.0, 1.0)


def _check_arguments(per_instance: int, test_share: float, min_area: float, max_area: float, seed: int) -> None:
    if per_instance < 1:
        raise UserInputError(f"--per-instance {per_instance}: make at least 1 composite per instance")
    if not 0 <= test_share < 1:
        raise UserInputError(f"--test-share {test_share}: choose a share in [0, 1)")
    if not 0 <= min_area < max_area <= 1:
        raise UserInputError(f"--min-area {min_area} --max-area {max_area}: need 0 ≤ min-area < max-area ≤ 1 "
                             "(shares of the image)")
    if seed < 0:
        raise UserInputError(f"--seed {seed}: use a seed ≥ 0")


def _source(images: Path, entry: CocoImage, annotations: Path) -> Path:
    path = images / entry.file_name
    if not path.is_file():
        raise UserInputError(f"{path}: image {entry.id} of {annotations} not found; pass --images the folder that "
                             "holds the annotation file's images")
    return path


def _load(path: Path, entry: CocoImage, annotations: Path) -> np.ndarray:
    pixels = read_rgb(path)
    if pixels.shape[:2] != (entry.height, entry.width):
        raise UserInputError(f"{path}: is {pixels.shape[0]}×{pixels.shape[1]} but {annotations} says "
                             f"{entry.height}×{entry.width} (rotated by EXIF, or resized?); use the images the "
                             "annotations were made on")
    return pixels


def from_coco(images: str | Path, annotations: str | Path, out: str | Path, per_instance: int = 1,
              test_share: float = 0.2, seed: int = 0, min_area: float = 0.05, max_area: float = 0.5,
              force: bool = False, progress: bool = True) -> dict:
    """Write an iHarmony4-layout set (subset HCOCO) under ``out``; returns a summary."""
    images, out = Path(images), Path(out)
    _check_arguments(per_instance, test_share, min_area, max_area, seed)
    if not images.is_dir():
        raise UserInputError(f"{images}: no such folder; pass --images the folder holding the annotated images")
    coco = read_coco(annotations)

    # pass 1: which instances are kept (not crowds, area in range); every image they need must exist
    kept: dict[int, list[int]] = {}
    for entry in sorted(coco.images.values(), key=lambda e: e.id):
        chosen = []
        for instance in entry.instances:
            if not instance.iscrowd and min_area <= coco.mask(instance).mean() <= max_area:
                chosen.append(instance.id)
        if chosen:
            kept[entry.id] = chosen
            _source(images, entry, coco.path)
    if sum(len(v) for v in kept.values()) < 2:
        raise UserInputError(f"{coco.path}: fewer than 2 instances are not crowds and cover {min_area}–{max_area} of "
                             "their image; colour transfer needs a source — widen --min-area/--max-area")
    order = np.random.default_rng([seed]).permutation(sorted(kept))
    n_test = int(round(test_share * len(order)))
    if test_share > 0 and len(order) >= 2:
        n_test = min(max(n_test, 1), len(order) - 1)
    split_of = {int(i): ("test" if rank < n_test else "train") for rank, i in enumerate(order)}

    prepare_output(out, force, marker=MARKER)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("{}\n")  # marks the folder as ours at once, so --force can clear a run cut short

    def instances_of(image_id):
        entry = coco.images[image_id]
        wanted = set(kept[image_id])
        return entry, [inst for inst in entry.instances if inst.id in wanted]

    bar = tqdm(total=2 * len(kept), desc="from-coco", unit="image", disable=not progress)
    own: dict[str, list[Reference]] = {split: [] for split in SPLITS}
    owner: dict[str, list[int]] = {split: [] for split in SPLITS}
    for image_id in kept:  # pass 2: colour sources, a few thousand pixels of every kept instance
        entry, instances = instances_of(image_id)
        pixels = _load(_source(images, entry, coco.path), entry, coco.path)
        for instance in instances:
            own[split_of[image_id]].append(Reference(str(image_id), instance.category, reference_pixels(pixels, coco.mask(instance))))
            owner[split_of[image_id]].append(instance.id)
        bar.update(1)
    # test composites may take colour from training instances (colour statistics only); training
    # composites never see a test image
    pools = {"train": ReferencePool(own["train"]), "test": ReferencePool(own["test"] + own["train"])}
    position = {split: {a: i for i, a in enumerate(owner[split] + (owner["train"] if split == "test" else []))}
                for split in SPLITS}

    for sub in ("real_images", "masks", "composite_images"):
        (out / "HCOCO" / sub).mkdir(parents=True, exist_ok=True)
    lists = {split: [] for split in SPLITS}
    rules: dict[str, int] = {}
    dropped = no_source = 0
    sources = {}
    for image_id in kept:  # pass 3: composites
        split = split_of[image_id]
        entry, instances = instances_of(image_id)
        path = _source(images, entry, coco.path)
        pixels = _load(path, entry, coco.path)
        rng = np.random.default_rng([seed, image_id])
        real_id = f"c{image_id}"
        sources[real_id] = entry.file_name
        real_bytes = path.read_bytes() if path.suffix.lower() in (".jpg", ".jpeg") else encode(pixels, "JPEG", COMPOSITE_QUALITY)
        (out / "HCOCO" / "real_images" / f"{real_id}.jpg").write_bytes(real_bytes)
        for instance in instances:
            mask = coco.mask(instance)
            (out / "HCOCO" / "masks" / f"{real_id}_{instance.id}.png").write_bytes(encode((mask * 255).astype(np.uint8), "PNG"))
            for k in range(1, per_instance + 1):
                if len(pools[split].references) < 2:
                    no_source += 1
                    continue
                reference, rule = pools[split].choose(instance.category, str(image_id), rng,
                                                      exclude=position[split][instance.id])
                composite, how, passed = recolour(pixels, mask, "HCOCO", rng, reference, strength=FULL_TRANSFER)
                if not passed:  # iHarmony4 dropped composites whose change was negligible or absurd
                    dropped += 1
                    continue
                name = f"{real_id}_{instance.id}_{k}.jpg"
                (out / "HCOCO" / "composite_images" / name).write_bytes(encode(composite, "JPEG", COMPOSITE_QUALITY))
                lists[split].append(name)
                key = f"{how} ({rule})"
                rules[key] = rules.get(key, 0) + 1
        bar.update(1)
    bar.close()
    for split in SPLITS:
        (out / "HCOCO" / f"HCOCO_{split}.txt").write_text("".join(f"{n}\n" for n in lists[split]))
        (out / f"IHD_{split}.txt").write_text("".join(f"HCOCO/composite_images/{n}\n" for n in lists[split]))
    summary = {"annotations": str(coco.path), "images": str(images), "seed": seed, "per_instance": per_instance,
               "area": [min_area, max_area], "test_share": test_share,
               "images_used": {split: sum(1 for i in kept if split_of[i] == split) for split in SPLITS},
               "instances": {split: sum(len(v) for i, v in kept.items() if split_of[i] == split) for split in SPLITS},
               "composites": {split: len(lists[split]) for split in SPLITS},
               "dropped_by_filter": dropped, "without_colour_source": no_source,
               "how_made": dict(sorted(rules.items())), "real_images": sources}
    (out / MARKER).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if not lists["train"] and not lists["test"]:
        raise UserInputError(f"{coco.path}: every composite fell outside the change filter; nothing was written to the lists")
    return summary
