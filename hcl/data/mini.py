"""``hcl data make-mini``: a small iHarmony4 in the real layout, built offline.

For each split and subset: frame one annotated object of that split's photos in a random square
crop (the object covering 5–50 % of it) as the real image, take the object's outline as the mask,
and change the object's appearance the way the subset was made (:mod:`hcl.data.recipes`: HCOCO
by colour transfer from another instance of the same category, the others by retouching and light
changes). The bundled photos come with outlines we drew (``hcl/assets/bundled_annotations.json``);
your own photos need a COCO-format file (``--annotations``). ``masks="generated"`` instead grows
regions from superpixels, blobs and depth: regions that cut through surfaces, not objects, never one of
our test splits. ``masks="mixed"`` trains on both: the train split holds the object-outline triples
*and* ``generated_train`` on generated regions (as many by default; the same triples ``"generated"`` would
make), the test split only object outlines; the shipped demo is trained on such a set, with three times as
many generated triples and outline triples from ten more photos (``extra_outlines``; see the README).

Everything random comes from ``numpy.random.default_rng([seed, split, subset])``: the same seed
gives byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from hcl.data import masks
from hcl.data.imageio import encode
from hcl.data.layout import SPLITS, SUBSETS
from hcl.data.photos import (BUNDLED_ANNOTATIONS, EXTRA_PHOTOS, Photo, attach_outlines, bundled_photos, extra_outlined_photos,
                             extra_photos, folder_photos)
from hcl.data.recipes import Reference, ReferencePool, crop_around, recolour, reference_pixels
from hcl.errors import UserInputError
from hcl.files import prepare_output

SUBSET_SHARE = {"HCOCO": 0.40, "HAdobe5k": 0.25, "HFlickr": 0.20, "Hday2night": 0.15}
ID_PREFIX = {"HCOCO": "c", "HAdobe5k": "a", "HFlickr": "f", "Hday2night": "d"}
MASK_SOURCES = ("annotated", "generated", "mixed")
GENERATED_ID_DIGIT = 2  # real ids of a mixed set's generated triples: c2…, where train has c0… and test c1…


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
    """A *generated* foreground region covering 5–50 % of ``real`` (superpixels, a blob or depth):
    not an object outline; only for ``masks="generated"``."""
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


def _credits_text(photos: dict[str, list[Photo]], seed: int, masks_from: str, mixed_counts: tuple[int, int] = (0, 0)) -> str:
    outline_count, generated_count = mixed_counts
    masks_text = {"annotated": "masks are object outlines drawn by hand (COCO format)",
                  "generated": "masks are generated regions",
                  "mixed": "test masks are object outlines drawn by hand (COCO format); training masks are those "
                           f"outlines ({outline_count} triples) and generated regions ({generated_count} triples)"}[masks_from]
    lines = ["# mini-iHarmony4: credits and licences", "",
             f"Built by `hcl data make-mini` (seed {seed}) from these photos; {masks_text}; colour changes are generated.",
             "It imitates the layout of iHarmony4 (Cong et al., DoveNet, CVPR 2020); it is not iHarmony4.", ""]
    for split in SPLITS:
        lines.append(f"## {split}")
        lines += [f"- {p.name}: {p.credit}" for p in photos[split]]
        lines.append("")
    return "\n".join(lines)


def _objects(photos: list[Photo]) -> list[tuple[int, int]]:
    return [(p, o) for p, photo in enumerate(photos) for o in range(len(photo.outlines))]


def _real_images(photos: list[Photo], masks_from: str, rng: np.random.Generator, size: int):
    """Endless (photo index, real image, [(mask, object index or None)], crop window) for one split and subset."""
    if masks_from == "generated":
        index = 0
        while True:
            photo_index = index % len(photos)
            real, disparity = random_crop(photos[photo_index], rng, size)
            yield photo_index, real, [(make_mask(real, disparity, rng), None) for _ in range(int(rng.integers(1, 3)))], None
            index += 1
    objects = _objects(photos)
    while True:
        framed_any = False
        for i in rng.permutation(len(objects)):
            photo_index, target = objects[i]
            photo = photos[photo_index]
            framed = crop_around(photo.pixels, [o.mask for o in photo.outlines], target, rng, size,
                                 (masks.MIN_COVERAGE, masks.MAX_COVERAGE))
            if framed is None:
                continue
            framed_any = True
            real, crop_masks, window = framed
            chosen = [(crop_masks[target], target)]
            # a second object visible in the same crop gets its own mask, as in iHarmony4
            others = [j for j, m in enumerate(crop_masks) if j != target and masks.MIN_COVERAGE <= m.mean() <= masks.MAX_COVERAGE]
            if others and rng.random() < 0.5:
                j = others[int(rng.integers(len(others)))]
                chosen.append((crop_masks[j], j))
            yield photo_index, real, chosen, window
        if not framed_any:
            names = sorted({photos[p].name for p, _ in objects})
            raise UserInputError(f"no outlined object of {names} can be framed so it covers "
                                 f"{masks.MIN_COVERAGE:.0%}–{masks.MAX_COVERAGE:.0%} of a square crop; outline larger "
                                 "objects (or objects smaller than half the photo)")


def _references(photos: list[Photo], masks_from: str) -> list[Reference]:
    if masks_from == "generated":  # no objects: a whole other photo is the colour source
        return [Reference(p.name, "photo", reference_pixels(p.pixels, np.ones(p.pixels.shape[:2], bool))) for p in photos]
    return [Reference(p.name, o.category, reference_pixels(p.pixels, o.mask)) for p in photos for o in p.outlines]


def make_mini(out: str | Path, train: int = 400, test: int = 100, seed: int = 0, size: int = 256,
              photos_dir: str | Path | None = None, force: bool = False, progress: bool = True,
              holdout: str | None = None, annotations: str | Path | None = None, masks_from: str = "annotated",
              generated_train: int | None = None, extra: bool = False, extra_outlines: bool = False,
              extra_annotations: str | Path | None = None) -> dict:
    """Build a mini-iHarmony4 under ``out``; returns a summary (counts per split and subset).

    photos_dir: your own photos instead of the bundled ones (then ``annotations`` is required unless
        ``masks_from="generated"``: a COCO-format file whose image file names match the photos; with
        ``"mixed"`` both halves use the photos that have outlines).
    annotations: COCO-format outlines (default: the ones we drew for the bundled photos).
    masks_from: 'annotated' (object outlines, the default), 'generated' (regions grown from
        superpixels, blobs and depth; they cut through surfaces, so a colour fit across their
        boundary undoes much of the change — never one of our test splits) or 'mixed' (a training set:
        the train split has ``train`` triples on object outlines and ``generated_train`` more on generated
        regions, real ids ``<subset letter>2…``; the test split is object outlines only).
    generated_train: a mixed set's generated-region training triples (default: as many as ``train``);
        they are exactly the train split that ``masks_from="generated", train=generated_train`` makes.
    extra: generated-region training triples also crop the 17 packaged extra photos
        (:data:`~hcl.data.photos.EXTRA_PHOTOS`, none outlined for the mini set) besides the training photos, so they show more scenes; the
        outline triples and the test split are unchanged. Only with ``masks_from`` 'generated' or 'mixed'.
    extra_outlines: object-outline training triples also crop the ten extra photos whose objects we outlined
        (:data:`~hcl.data.photos.EXTRA_ANNOTATIONS`: 18 objects, boats, leaves, cups, a kite, a cloud, a path, a
        trunk, petals, a seed head, a plant, water, land), so
        they show more objects; the generated-region triples and the test split are unchanged. Only with
        ``masks_from`` 'annotated' or 'mixed'.
    extra_annotations: with ``extra_outlines``, other outlines of the extra photos than ours (COCO format; any of
        the 17 photos it outlines take part: the drawn lines unsnapped, ``tools/drawn_outlines.py``, or more
        objects, ``tools/more_outlines.py``).
    holdout: the name of one *training* photo, or several comma-separated, that become this set's whole
        test split (and leave its train split): a photo-disjoint **validation** set for choosing recipes and checkpoints without
        touching the real test photos. The default set (no holdout) is unchanged by this option.
    """
    out = Path(out)
    if masks_from not in MASK_SOURCES:
        raise UserInputError(f"--masks {masks_from!r}: choose from {list(MASK_SOURCES)}")
    if size < 32:
        raise UserInputError(f"--size {size} is too small; use at least 32 px")
    if extra and masks_from == "annotated":
        raise UserInputError("--extra-photos adds generated-region triples; use it with --masks generated or mixed "
                             "(--extra-outlines adds outline triples)")
    if extra and photos_dir:
        raise UserInputError(f"{photos_dir}: --extra-photos adds the bundled extra photos; put more photos "
                             "in your folder instead")
    if extra_outlines and masks_from == "generated":
        raise UserInputError("--extra-outlines adds object-outline triples; use it with --masks annotated or mixed")
    if extra_annotations is not None and not extra_outlines:
        raise UserInputError(f"{extra_annotations}: other outlines of the extra photos are used with --extra-outlines "
                             "(extra_outlines=True); add it")
    if extra_outlines and photos_dir:
        raise UserInputError(f"{photos_dir}: --extra-outlines adds the bundled photos we outlined; put more photos "
                             "and their outlines in your folder and --annotations file instead")
    if photos_dir and masks_from != "generated" and annotations is None:
        raise UserInputError(f"{photos_dir}: your own photos need --annotations FILE.json (COCO-format outlines of "
                             "their objects), or --masks generated for generated regions")
    if seed < 0:
        raise UserInputError(f"--seed {seed}: use a seed ≥ 0")
    if generated_train is not None and masks_from != "mixed":
        raise UserInputError(f"--generated-train {generated_train}: only with --masks mixed (got --masks {masks_from})")
    if generated_train is not None and generated_train < 1:
        raise UserInputError(f"--generated-train {generated_train}: use a count of at least 1")
    skipped: list[str] = []
    if photos_dir:
        photos = folder_photos(photos_dir, annotations=annotations if masks_from != "generated" else None)
    else:
        photos = bundled_photos()
        if masks_from != "generated":
            source = annotations if annotations is not None else BUNDLED_ANNOTATIONS
            skipped = attach_outlines(photos, source)
            photos = {split: [p for p in pool if p.outlines] for split, pool in photos.items()}
            for split, pool in photos.items():
                if not pool:
                    raise UserInputError(f"{source}: no {split} photo has an outlined object; annotate at least one per split")
    if holdout is not None:
        names = [p.name for p in photos["train"] if not p.name.startswith("motorcycle")]  # two views, one scene
        held = [h.strip() for h in holdout.split(",") if h.strip()]
        wrong = [h for h in held if h not in names]
        if wrong or not held or len(held) >= len(names):
            raise UserInputError(f"--holdout {holdout!r}: name one or more (comma-separated) training photos, leaving "
                                 f"at least one to train on; choose from {names}")
        photos = {"train": [p for p in photos["train"] if p.name not in held],
                  "test": [p for p in photos["train"] if p.name in held]}
    # loaded before --force may replace anything; each joins one training pass, as crops and as colour sources
    joins = {("train", "generated"): extra_photos() if extra else [],
             ("train", "annotated"): extra_outlined_photos(extra_annotations) if extra_outlines else []}
    prepare_output(out, force, marker="mini.json")  # after every check of the arguments: --force replaces only then
    counts = {"train": split_counts(train), "test": split_counts(test),
              "generated train": split_counts(train if generated_train is None else generated_train)}

    files: dict[Path, bytes] = {}
    lists = {split: {s: [] for s in SUBSETS} for split in SPLITS}
    how_made = {split: {} for split in SPLITS}
    # (split, masks of this pass, the digit its real ids carry): a mixed set's train split is made twice,
    # each pass exactly as the single-kind set would make it
    passes = [(split, masks_from, index) for index, split in enumerate(SPLITS)]
    if masks_from == "mixed":
        passes = [("train", "annotated", 0), ("train", "generated", GENERATED_ID_DIGIT), ("test", "annotated", 1)]

    def wanted(split: str, kind: str) -> dict[str, int]:
        return counts["generated train" if masks_from == "mixed" and kind == "generated" else split]

    bar = tqdm(total=sum(wanted(split, kind)[s] for split, kind, _ in passes for s in SUBSETS), desc="make-mini",
               unit="triple", disable=not progress)
    # test composites may take colour from training objects (statistics only); training never sees test photos
    own_references = {(split, kind): _references(photos[split], kind) for split, kind, _ in passes}
    provenance: dict[str, dict] = {}
    dropped = 0
    for split, kind, id_digit in passes:
        split_index = SPLITS.index(split)
        joining = joins.get((split, kind), [])
        pool = photos[split] + joining
        references = ReferencePool(own_references[(split, kind)] + _references(joining, kind)
                                   + (own_references[("train", kind)] if split == "test" else []))
        reference_index = {(p.name, k): i for i, (p, k) in enumerate((p, k) for p in pool for k in range(len(p.outlines)))}
        for subset_index, subset in enumerate(SUBSETS):
            rng = np.random.default_rng([seed, split_index, subset_index])
            made, real_index = 0, 0
            stream = _real_images(pool, kind, rng, size)
            count = wanted(split, kind)[subset]
            while made < count:
                photo_index, real, chosen, window = next(stream)
                photo = pool[photo_index]
                real_id = f"{ID_PREFIX[subset]}{id_digit}{photo_index:02d}{real_index:04d}"
                if subset == "Hday2night":
                    real_id += f"-{int(rng.integers(100, 999))}"  # Hday2night ids contain '-'
                real_index += 1
                folder = out / subset
                kept_masks = 0
                for mask_id, (mask, target) in enumerate(chosen, start=1):
                    names = []
                    for k in range(1, int(rng.integers(1, 3)) + 1):
                        if made + len(names) >= count:
                            break
                        reference, rule = None, None
                        if subset == "HCOCO":
                            category = photo.outlines[target].category if target is not None else "photo"
                            exclude = reference_index[(photo.name, target)] if target is not None else photo_index
                            reference, rule = references.choose(category, photo.name, rng, exclude=exclude)
                        composite, how, passed = recolour(real, mask, subset, rng, reference)
                        if not passed:  # like iHarmony4: a negligible or absurd change is not kept
                            dropped += 1
                            continue
                        name = f"{real_id}_{mask_id}_{k}.jpg"
                        files[folder / "composite_images" / name] = encode(composite, "JPEG")
                        names.append(name)
                        key = f"{how} ({rule})" if rule else how
                        key = f"{kind}: {key}" if masks_from == "mixed" else key
                        how_made[split][key] = how_made[split].get(key, 0) + 1
                    if names:
                        kept_masks += 1
                        files[folder / "masks" / f"{real_id}_{mask_id}.png"] = encode((mask * 255).astype(np.uint8), "PNG")
                        lists[split][subset] += names
                        made += len(names)
                        bar.update(len(names))
                        if target is not None:
                            provenance[f"{subset}/masks/{real_id}_{mask_id}.png"] = {
                                "photo": photo.name, "object": photo.outlines[target].id, "window": list(window)}
                if kept_masks:
                    files[folder / "real_images" / f"{real_id}.jpg"] = encode(real, "JPEG")
    bar.close()

    for path, payload in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    for split in SPLITS:
        for subset in SUBSETS:
            (out / subset / f"{subset}_{split}.txt").write_text("".join(f"{n}\n" for n in lists[split][subset]))
        (out / f"IHD_{split}.txt").write_text(
            "".join(f"{s}/composite_images/{n}\n" for s in SUBSETS for n in lists[split][s]))
    mixed_counts = (sum(counts["train"].values()), sum(counts["generated train"].values()))
    joined = {p.name: p for pool in joins.values() for p in pool}  # a photo both flags add is credited once
    credited = {"train": photos["train"] + list(joined.values()), "test": photos["test"]}
    (out / "CREDITS.md").write_text(_credits_text(credited, seed, masks_from, mixed_counts))
    summary = {"seed": seed, "size": size, "holdout": holdout, "masks": masks_from,
               "photos": {k: [p.name for p in v] for k, v in photos.items()},
               "objects": {k: sum(len(p.outlines) for p in v) for k, v in photos.items()},
               "photos_without_outlines": sorted(skipped),
               "how_made": {split: dict(sorted(v.items())) for split, v in how_made.items()},
               "dropped_by_filter": dropped,
               "provenance": dict(sorted(provenance.items())),
               "counts": {split: {s: len(lists[split][s]) for s in SUBSETS} for split in SPLITS}}
    if extra:  # only then: a set made without the flag keeps its mini.json byte for byte
        summary["extra_photos"] = list(EXTRA_PHOTOS)
    if extra_outlines:
        summary["extra_outlined_photos"] = [p.name for p in joins[("train", "annotated")]]
        summary["extra_outlined_objects"] = sum(len(p.outlines) for p in joins[("train", "annotated")])  # not in "objects"
    (out / "mini.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
