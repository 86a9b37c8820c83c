"""``hcl data make-mini``: a small iHarmony4 in the real layout, built offline.

For each split and subset: take random crops of that split's photos as real images, generate
foreground masks covering 5–50 % of the image, and change the foreground's appearance the way the
subset was made (see :mod:`hcl.data.colour`). A composite whose foreground barely changed (or
changed beyond recognition) is drawn again, as iHarmony4 filtered its composites.

Everything random comes from ``numpy.random.default_rng([seed, split, subset])``: the same seed
gives byte-identical files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from hcl.data import colour, masks
from hcl.data.imageio import encode
from hcl.data.layout import SPLITS, SUBSETS
from hcl.data.photos import Photo, bundled_photos, folder_photos
from hcl.errors import UserInputError

SUBSET_SHARE = {"HCOCO": 0.40, "HAdobe5k": 0.25, "HFlickr": 0.20, "Hday2night": 0.15}
ID_PREFIX = {"HCOCO": "c", "HAdobe5k": "a", "HFlickr": "f", "Hday2night": "d"}
FOREGROUND_MSE_RANGE = (80.0, 3000.0)  # on the 0–255 scale, like iHarmony4's filtering


def split_counts(total: int) -> dict[str, int]:
    """Share ``total`` triples among the subsets, every subset getting at least one."""
    counts = {s: max(1, int(round(total * SUBSET_SHARE[s]))) for s in SUBSETS}
    counts["HCOCO"] += total - sum(counts.values())
    if counts["HCOCO"] < 1:
        raise UserInputError(f"--train/--test must be at least {len(SUBSETS)} (one per subset); got {total}")
    return counts


def random_crop(photo: Photo, rng: np.random.Generator, size: int):
    """A random square crop of a photo (50–100 % of its short side), resized to size×size."""
    height, width = photo.pixels.shape[:2]
    side = int(min(height, width) * rng.uniform(0.5, 1.0))
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    window = (slice(top, top + side), slice(left, left + side))
    pixels = np.asarray(Image.fromarray(photo.pixels[window]).resize((size, size), Image.BILINEAR, reducing_gap=None))
    disparity = None
    if photo.disparity is not None:
        crop = np.nan_to_num(photo.disparity[window].astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        disparity = np.asarray(Image.fromarray(crop).resize((size, size), Image.NEAREST))
    return pixels, disparity


def make_mask(real: np.ndarray, disparity, rng: np.random.Generator) -> np.ndarray:
    """A foreground mask covering 5–50 % of ``real``."""
    for _ in range(6):
        target = float(rng.uniform(0.08, 0.40))
        method = rng.choice(["slic", "felzenszwalb", "blob"] + (["depth", "depth"] if disparity is not None else []))
        if method == "blob":
            mask = masks.blob_mask(real.shape[:2], rng, target)
        elif method == "depth":
            mask = masks.depth_mask(disparity, target)
        else:
            mask = masks.grow_segments(masks.segment(real, rng, str(method)), rng, target)
        if masks.MIN_COVERAGE <= masks.coverage(mask) <= masks.MAX_COVERAGE:
            return mask
    return masks.blob_mask(real.shape[:2], rng, 0.2)


def perturb(real: np.ndarray, mask: np.ndarray, subset: str, references: list[np.ndarray],
            rng: np.random.Generator) -> np.ndarray:
    """The composite: ``real`` with its foreground changed the way ``subset`` was made (uint8)."""
    image = real.astype(np.float64) / 255.0
    for _ in range(8):
        if subset == "HCOCO":
            reference = references[int(rng.integers(len(references)))]
            ref_mask = masks.blob_mask(reference.shape[:2], rng, float(rng.uniform(0.1, 0.5)))
            out = colour.reinhard_transfer(image, mask, reference.astype(np.float64) / 255.0, ref_mask,
                                           strength=float(rng.uniform(0.6, 1.0)))
        elif subset == "HAdobe5k":
            out = colour.retouch(image, mask, **colour.random_retouch_parameters(rng, "adobe"))
        elif subset == "HFlickr":
            out = colour.retouch(image, mask, **colour.random_retouch_parameters(rng, "flickr"))
        else:
            out = colour.retouch(image, mask, **colour.random_retouch_parameters(rng, "day2night"))
        composite = np.round(out * 255).astype(np.uint8)
        diff = (composite.astype(np.float64) - real)[mask]
        foreground_mse = float((diff**2).mean())
        if FOREGROUND_MSE_RANGE[0] <= foreground_mse <= FOREGROUND_MSE_RANGE[1]:
            return composite
    return composite


def _credits_text(photos: dict[str, list[Photo]], seed: int) -> str:
    lines = ["# mini-iHarmony4: credits and licences", "",
             "Built by `hcl data make-mini` (seed {}) from these photos; masks and colour changes are generated.".format(seed),
             "It imitates the layout of iHarmony4 (Cong et al., DoveNet, CVPR 2020); it is not iHarmony4.", ""]
    for split in SPLITS:
        lines.append(f"## {split}")
        lines += [f"- {p.name}: {p.credit}" for p in photos[split]]
        lines.append("")
    return "\n".join(lines)


def make_mini(out: str | Path, train: int = 400, test: int = 100, seed: int = 0, size: int = 256,
              photos_dir: str | Path | None = None, force: bool = False, progress: bool = True,
              holdout: str | None = None) -> dict:
    """Build a mini-iHarmony4 under ``out``; returns a summary (counts per split and subset).

    holdout: the name of one *training* photo that becomes this set's whole test split (and leaves its
        train split): a photo-disjoint **validation** set for choosing recipes and checkpoints without
        touching the real test photos. The default set (no holdout) is unchanged by this option.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"{out}: exists and is not a folder; choose another OUT")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise UserInputError(f"{out}: folder is not empty; choose an empty OUT or pass --force to replace it")
        if not (out / "mini.json").is_file():
            raise UserInputError(f"{out}: not empty and not a mini-iHarmony4 built by hcl; refusing to delete it even with --force")
        shutil.rmtree(out)
    if size < 32:
        raise UserInputError(f"--size {size} is too small; use at least 32 px")
    photos = folder_photos(photos_dir) if photos_dir else bundled_photos()
    if holdout is not None:
        names = [p.name for p in photos["train"] if not p.name.startswith("motorcycle")]  # two views, one scene
        if holdout not in names:
            raise UserInputError(f"--holdout {holdout!r} is not a training photo; choose from {names}")
        photos = {"train": [p for p in photos["train"] if p.name != holdout],
                  "test": [p for p in photos["train"] if p.name == holdout]}
    counts = {"train": split_counts(train), "test": split_counts(test)}

    files: dict[Path, bytes] = {}
    lists = {split: {s: [] for s in SUBSETS} for split in SPLITS}
    bar = tqdm(total=train + test, desc="make-mini", unit="triple", disable=not progress)
    for split_index, split in enumerate(SPLITS):
        pool = photos[split]
        # colour references for Reinhard transfer: small copies are enough for Lab statistics
        references = [np.asarray(Image.fromarray(p.pixels).resize((96, 96), Image.BILINEAR)) for p in pool]
        for subset_index, subset in enumerate(SUBSETS):
            rng = np.random.default_rng([seed, split_index, subset_index])
            made, real_index = 0, 0
            while made < counts[split][subset]:
                photo_index = real_index % len(pool)
                real, disparity = random_crop(pool[photo_index], rng, size)
                real_id = f"{ID_PREFIX[subset]}{split_index}{photo_index:02d}{real_index:04d}"
                if subset == "Hday2night":
                    real_id += f"-{int(rng.integers(100, 999))}"  # Hday2night ids contain '-'
                folder = out / subset
                files[folder / "real_images" / f"{real_id}.jpg"] = encode(real, "JPEG")
                for mask_id in range(1, int(rng.integers(1, 3)) + 1):
                    if made >= counts[split][subset]:
                        break
                    mask = make_mask(real, disparity, rng)
                    files[folder / "masks" / f"{real_id}_{mask_id}.png"] = encode((mask * 255).astype(np.uint8), "PNG")
                    for k in range(1, int(rng.integers(1, 3)) + 1):
                        if made >= counts[split][subset]:
                            break
                        composite = perturb(real, mask, subset, references, rng)
                        name = f"{real_id}_{mask_id}_{k}.jpg"
                        files[folder / "composite_images" / name] = encode(composite, "JPEG")
                        lists[split][subset].append(name)
                        made += 1
                        bar.update(1)
                real_index += 1
    bar.close()

    for path, payload in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    for split in SPLITS:
        for subset in SUBSETS:
            (out / subset / f"{subset}_{split}.txt").write_text("".join(f"{n}\n" for n in lists[split][subset]))
        (out / f"IHD_{split}.txt").write_text(
            "".join(f"{s}/composite_images/{n}\n" for s in SUBSETS for n in lists[split][s]))
    (out / "CREDITS.md").write_text(_credits_text(photos, seed))
    summary = {"seed": seed, "size": size, "holdout": holdout, "photos": {k: [p.name for p in v] for k, v in photos.items()},
               "counts": {split: {s: len(lists[split][s]) for s in SUBSETS} for split in SPLITS}}
    (out / "mini.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
