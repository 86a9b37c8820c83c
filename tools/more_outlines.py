"""Do more outlined objects help the demo? (measured on validation, two folds, three paired seeds)

The demo's training set (``make data-mixed``) crops its 400 object-outline triples in turn from the objects of the
training photos and of ten packaged extra photos (``hcl/assets/extra_annotations.json``, 18 objects). Adding
those ten photos' objects helped on validation (``results/demo-data``, ``mixed-1200-outlined``). This asks whether
more objects help again: ``tools/rough_outlines_more.json`` holds 16 more rough outlines (seven cups, two boats, a
flower centre, a cloud, a dock, and in three photos nobody had outlined, two petals, a leaf and a tree line),
snapped to the objects' edges exactly as ``tools/annotate_bundled.py`` snaps the others and appended to the
committed 18 (which stay as they are, byte for byte). The `demo` recipe is trained on the set built with them
(``make_mini``'s ``extra_annotations``) on both folds of validation photos (*china*, *ladybird*; *astronaut*, *chelsea*), seeds
0-2, and scored at 256 px on the held-out photos' three kinds of mask, like ``tools/foreground_jitter.py``. The
test split is not used.

The demo on today's set is not trained again: its runs are ``tools/weight_average.py``'s (their last weights,
``results/weight-average/weight_average.json``, ``scores.last``), paired seed by seed (same initialization and
steps; the outline triples differ, so the crops do too).

    python tools/annotate_bundled.py --unsnapped --out build/drawn-outlines/bundled.json
    python tools/more_outlines.py --drawn build/drawn-outlines/bundled.json

(six runs of about 4 minutes, 40 minutes with building the sets and scoring, on 2 cores; finished runs are
reused, as ``hcl ablate``'s.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from annotate_bundled import outline_masks  # tools/ is the script's folder
from demo_data import built, scored
from foreground_jitter import BASELINE, baseline_scores, paired_row
from weight_average import FOLDS, fold_sets

from hcl.config import preset
from hcl.data.coco import mask_to_polygons
from hcl.data.photos import EXTRA_ANNOTATIONS, _load_bundled

ROUGH = Path(__file__).resolve().parent / "rough_outlines_more.json"


def more_annotations(rough_file: Path, out: Path) -> Path:
    """The committed extra outlines with the rough ones of ``rough_file`` snapped and appended (COCO), at ``out``."""
    rough = json.loads(rough_file.read_text())
    coco = json.loads(Path(EXTRA_ANNOTATIONS).read_text())
    image_ids = {image["file_name"]: image["id"] for image in coco["images"]}
    category_ids = {category["name"]: category["id"] for category in coco["categories"]}
    next_id = max(a["id"] for a in coco["annotations"]) + 1
    for name, objects in rough["photos"].items():
        photo = _load_bundled(name)
        height, width = photo.pixels.shape[:2]
        if name not in image_ids:
            image_ids[name] = max(image_ids.values()) + 1
            coco["images"].append({"id": image_ids[name], "file_name": name, "height": height, "width": width,
                                   "license": photo.credit})
        for obj, mask in zip(objects, outline_masks(photo.pixels, objects, rough)):
            if obj["category"] not in category_ids:
                category_ids[obj["category"]] = max(category_ids.values()) + 1
                coco["categories"].append({"id": category_ids[obj["category"]], "name": obj["category"]})
            ys, xs = mask.nonzero()
            coco["annotations"].append({
                "id": next_id, "image_id": image_ids[name], "category_id": category_ids[obj["category"]],
                "segmentation": mask_to_polygons(mask), "area": int(mask.sum()), "iscrowd": 0,
                "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]})
            next_id += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(coco) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawn", required=True, type=Path, help="the bundled photos' drawn outlines (COCO)")
    parser.add_argument("--rough", type=Path, default=ROUGH, help="the rough outlines to add")
    parser.add_argument("--out", default="results/more-outlines")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    out, seeds = Path(args.out), [int(s) for s in args.seeds.split(",")]
    annotations = Path("build/more-outlines/extra-more.json")
    fresh = more_annotations(args.rough, annotations.with_name("extra-more.new.json"))
    if not annotations.is_file():
        fresh.replace(annotations)
    elif annotations.read_bytes() != fresh.read_bytes():  # the sets and runs built from it would be stale
        sys.exit(f"{args.rough}: its outlines differ from those {annotations} was made from; move {annotations.parent} "
                 "and data/mini-mixed-1200-more-val* away to rebuild the sets (finished runs of the old ones are kept)")
    else:
        fresh.unlink()
    baseline = baseline_scores()
    rows = []
    for holdout in FOLDS:
        fold, evaluation, _ = fold_sets(holdout, args.drawn)
        data = built("data/mini-mixed-1200-more-val" + fold, dict(
            masks_from="mixed", generated_train=1200, extra_outlines=True, extra_annotations=annotations), holdout)
        for seed in seeds:
            config = preset("demo", data=data, seed=seed, val_every=100_000)
            _, scores = scored(config, out / "runs", f"more{fold}-seed{seed}", evaluation)
            rows.append(paired_row(holdout, seed, scores, baseline))
    out.mkdir(parents=True, exist_ok=True)
    (out / "more_outlines.json").write_text(json.dumps(
        {"annotations": str(annotations), "folds": FOLDS, "seeds": seeds, "baseline": str(BASELINE), "rows": rows},
        indent=1) + "\n")


if __name__ == "__main__":
    main()
