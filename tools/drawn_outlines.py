"""The demo on outlines as a user draws them: the hand-drawn lines of ``tools/rough_outlines.json`` kept as drawn
(``tools/annotate_bundled.py --unsnapped``), not snapped to the object's edges, with the mini set's colour
changes applied inside them.

A user's mask, or a hand-drawn outline in someone else's test set, is rarely snapped to the object's edges: it
runs a few pixels inside or outside them (against our snapped outlines: IoU 0.67 to 0.975, median 0.94). Where it
runs outside, the same background lies on both sides of the boundary and the boundary fit alone undoes much of
the change; along a real edge, as on our snapped outlines, the fit is worse than the composite. Measured here:

- validation (the choice): the validation photos *china* and *ladybird* with drawn outlines
  (``data/mini-drawn-val``), beside their snapped outlines and generated regions (``tools/demo_data.py``'s
  sets), for the `demo` recipe (``demo``: trained on ``data/mini-mixed-1200-outlined-val``, its runs the same
  trajectories as ``make weight-average``'s) and for a training set that adds the drawn outlines to the snapped ones
  (``snapped+drawn``: each of the 19 photos' objects outlined both ways, ``data/mini-mixed-drawn-val``), and the
  same set with the drawn outlines under categories of their own (``snapped+drawn-separate``,
  ``data/mini-mixed-drawn-separate-val``: "cup (drawn)", so that HCOCO's rule, a colour source of the same
  category, no longer picks an object's own twin), three paired seeds each;
- a second fold (``--holdout astronaut,chelsea``): the same three kinds of mask of two other validation photos,
  its sets and runs named with theirs, every training set built without them;
- test (after the choice): the shipped checkpoint on the test photos with drawn outlines (``data/mini-drawn``).

    python tools/annotate_bundled.py --unsnapped --out build/drawn-outlines/bundled.json
    python tools/annotate_bundled.py --unsnapped --rough tools/rough_outlines_extra.json --out build/drawn-outlines/extra.json
    python tools/drawn_outlines.py --drawn build/drawn-outlines/bundled.json --drawn-extra build/drawn-outlines/extra.json

(``make drawn-outlines`` runs these and the second fold: about 2 hours on 2 cores, the sets built and eighteen
runs trained; finished runs are reused, as ``hcl ablate``'s.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from demo_data import EVALUATION_SETS, HOLDOUT, TRAINING_SETS, built, scored  # tools/ is the script's folder

from hcl.checkpoint import DEMO_CHECKPOINT
from hcl.config import preset
from hcl.data.coco import read_coco
from hcl.data.dataset import IHarmony4
from hcl.data.photos import BUNDLED_ANNOTATIONS, EXTRA_ANNOTATIONS
from hcl.evaluate import evaluate, summarize
from hcl.inference import load_harmonizer


METRICS = ("fmse", "mse", "psnr", "fssim")
# the training sets: the demo's; both outlines of every object; both again, the drawn ones under categories of their
# own ("cup (drawn)"), so that no object's twin is the colour source HCOCO's rule prefers for it (same category)
ROWS = ("demo", "snapped+drawn", "snapped+drawn-separate")
DRAWN_CATEGORY = "{} (drawn)"


def union(snapped: Path, drawn: Path, out: Path, separate: bool = False) -> Path:
    """One COCO file holding both outlines of every object (the drawn ones appended, ids shifted; with
    ``separate``, under categories of their own, :data:`DRAWN_CATEGORY`)."""
    first, second = json.loads(Path(snapped).read_text()), json.loads(Path(drawn).read_text())
    offset = max((a["id"] for a in first["annotations"]), default=0)
    category_ids = {c["name"]: c["id"] for c in first["categories"]}
    names = {c["id"]: DRAWN_CATEGORY.format(c["name"]) if separate else c["name"] for c in second["categories"]}
    for name in names.values():
        if name not in category_ids:
            category_ids[name] = max(category_ids.values(), default=0) + 1
            first["categories"].append({"id": category_ids[name], "name": name})
    image_ids = {i["file_name"]: i["id"] for i in first["images"]}
    file_names = {i["id"]: i["file_name"] for i in second["images"]}
    missing = sorted(set(file_names.values()) - set(image_ids))
    if missing:
        raise SystemExit(f"{drawn}: outlines of {missing}, photos {snapped} does not list; outline the same photos in both")
    first["annotations"] += [dict(a, id=a["id"] + offset, image_id=image_ids[file_names[a["image_id"]]],
                                  category_id=category_ids[names[a["category_id"]]]) for a in second["annotations"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(first))
    return out


def agreement(drawn: Path, snapped: Path = BUNDLED_ANNOTATIONS) -> list[float]:
    """IoU of every drawn outline with the snapped one of the same object: objects are matched by photo,
    category and their rank among that photo's objects of that category (both files come from one list)."""
    first, second = read_coco(drawn), read_coco(snapped)

    def keyed(coco) -> dict:
        keys, seen = {}, {}
        for image in coco.images.values():
            for inst in image.instances:
                rank = seen[image.file_name, inst.category] = seen.get((image.file_name, inst.category), -1) + 1
                keys[image.file_name, inst.category, rank] = inst
        return keys

    drawn_objects, snapped_objects = keyed(first), keyed(second)
    if drawn_objects.keys() != snapped_objects.keys():
        raise SystemExit(f"{drawn} and {snapped} outline different objects; make both from the same rough outlines")
    ious = []
    for key, a in drawn_objects.items():
        mask_a, mask_b = first.mask(a), second.mask(snapped_objects[key])
        ious.append(float((mask_a & mask_b).sum() / (mask_a | mask_b).sum()))
    return ious


def shipped_scores(data: str) -> dict:
    """The shipped checkpoint on ``data``'s test split at 256 px, one evaluation: composite, fit alone and the
    network (fMSE, MSE, PSNR, fSSIM), and their fMSE per photo (mini.json's provenance names each mask's photo)."""
    records = evaluate(IHarmony4(data, "test", image_size=256), load_harmonizer(None), progress=False, baselines=True)
    summary = summarize(records)
    provenance = json.loads((Path(data) / "mini.json").read_text())["provenance"]
    photos: dict[str, list[dict]] = {}
    for record in records:
        mask = f"{record['subset']}/masks/{record['name'].rsplit('_', 1)[0]}.png"
        photos.setdefault(provenance[mask]["photo"], []).append(record)
    return {"test split, drawn outlines": {method: {metric: summary[method]["All"][metric] for metric in METRICS}
                                           for method in summary},
            "test split, drawn outlines, fMSE by photo": {
                photo: {"triples": len(rs), **{method: float(np.mean([r[method]["fmse"] for r in rs])) for method in summary}}
                for photo, rs in sorted(photos.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawn", required=True, type=Path, help="the twelve bundled photos' drawn outlines (COCO)")
    parser.add_argument("--drawn-extra", required=True, type=Path, help="the ten extra photos' drawn outlines (COCO)")
    parser.add_argument("--out", default="results/drawn-outlines")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated: " + ", ".join(ROWS))
    parser.add_argument("--holdout", default=HOLDOUT, help="the validation photos (another fold: its sets are "
                        "built under names ending in the photos' names, its JSON is drawn_outlines-<photos>.json)")
    args = parser.parse_args()
    out, seeds = Path(args.out), [int(s) for s in args.seeds.split(",")]
    names = args.rows.split(",")
    if set(names) - set(ROWS):
        parser.error(f"--rows {args.rows!r}: choose from {', '.join(ROWS)}")
    # another fold's sets and runs carry its photos' names; the default fold keeps tools/demo_data.py's folders
    held = sorted(h.strip() for h in args.holdout.split(","))
    fold = "" if held == sorted(HOLDOUT.split(",")) else "-" + "-".join(held)

    def built_here(folder: str, settings: dict) -> str:
        return built(folder + fold, settings, args.holdout)

    evaluation = {name: built_here(*spec) for name, spec in EVALUATION_SETS.items()}
    evaluation["drawn outlines"] = built_here("data/mini-drawn-val", dict(annotations=args.drawn))
    training = {}
    if "demo" in names:
        training["demo"] = built_here(*TRAINING_SETS["mixed-1200-outlined"])
    for row, folder, separate in (("snapped+drawn", "data/mini-mixed-drawn-val", False),
                                  ("snapped+drawn-separate", "data/mini-mixed-drawn-separate-val", True)):
        if row in names:
            training[row] = built_here(folder, dict(
                annotations=union(BUNDLED_ANNOTATIONS, args.drawn, args.drawn.parent / row / "bundled.json", separate),
                extra_annotations=union(EXTRA_ANNOTATIONS, args.drawn_extra, args.drawn.parent / row / "extra.json",
                                        separate),
                masks_from="mixed", generated_train=1200, extra_outlines=True))
    rows = []
    for seed in seeds:
        for row, data in training.items():
            config = preset("demo", data=data, seed=seed, val_every=100_000)
            _, scores = scored(config, out / "runs", f"{row.replace('+', '-')}{fold}-seed{seed}", evaluation)
            rows.append({"row": row, "trained on": data, "seed": seed, "scores": scores})
            print(row, seed, {kind: {m: round(s["fmse"], 1) for m, s in by.items()} for kind, by in scores.items()},
                  flush=True)
    test_drawn = "data/mini-drawn"
    if not (Path(test_drawn) / "mini.json").is_file():
        from hcl.data.mini import make_mini

        make_mini(test_drawn, annotations=args.drawn)
    shipped = {"checkpoint": f"hcl/assets/{DEMO_CHECKPOINT.name}", **shipped_scores(test_drawn)}
    print("shipped checkpoint, test photos, drawn outlines:",
          {m: round(s["fmse"], 1) for m, s in shipped["test split, drawn outlines"].items()})
    ious = agreement(args.drawn)
    print(f"drawn against snapped outlines, IoU: {min(ious):.3f} to {max(ious):.3f}, median {np.median(ious):.3f}")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"drawn_outlines{fold}.json").write_text(json.dumps(
        {"held out": args.holdout, "drawn against snapped, IoU per object": ious, "evaluated on": evaluation,
         "seeds": seeds, "rows": rows, "shipped": shipped}, indent=1) + "\n")


if __name__ == "__main__":
    main()
