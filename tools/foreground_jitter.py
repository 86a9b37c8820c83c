"""Does a new disharmony each time a crop is drawn help the demo? (``--foreground-jitter``, measured on validation)

`demo` trains on a fixed set of composites: each training triple's foreground was recoloured once, when the set
was built. ``--foreground-jitter F`` applies one more global colour change (brightness, contrast, saturation and
channel gains, each within ±F) to the composite's foreground every time an item is drawn, the real image and the
background untouched, so the network never sees the same disharmony twice. This trains the `demo` recipe with it
on both folds of validation photos (*china*, *ladybird*; *astronaut*, *chelsea*), seeds 0-2, and scores each run
at 256 px on the held-out photos' three kinds of mask (snapped outlines, generated regions, drawn outlines), like
``tools/weight_average.py``. The test split is not used.

The demo without it is not trained again: its runs are ``tools/weight_average.py``'s (their last weights, the
`demo` recipe as shipped; ``results/weight-average/weight_average.json``, ``scores.last``), paired seed by seed
(same initialization, crops, flips and steps; the extra change draws its numbers after the crop's). Retrained
at today's code, seed 0 of the first fold scored 906.85 on snapped outlines and 432.15 on generated regions,
those runs' numbers to the hundredth.

    python tools/annotate_bundled.py --unsnapped --out build/drawn-outlines/bundled.json
    python tools/foreground_jitter.py --drawn build/drawn-outlines/bundled.json

(``make foreground-jitter`` runs both, then the tool again with ``--foreground-jitter 0.15``: six runs of about
4 minutes per value of F, 40 minutes with the scoring, on 2 cores; finished runs are reused, as ``hcl ablate``'s.)
``OUT/foreground_jitter.json`` holds F = 0.3; another ``--foreground-jitter`` writes ``OUT/foreground_jitter-<F>.json``. The committed first-fold runs were trained
by hand with the same settings (``hcl train --config demo … --foreground-jitter 0.3``) and copied under the
names this tool gives them, so their ``config.json`` names another output folder; the tool reused them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from demo_data import scored  # tools/ is the script's folder
from weight_average import FOLDS, fold_sets

from hcl.config import preset

BASELINE = Path("results/weight-average/weight_average.json")


def baseline_scores(path: Path = BASELINE) -> dict:
    """(held-out photos, seed) → the demo's fMSE per kind of mask, from ``tools/weight_average.py``'s runs."""
    rows = json.loads(path.read_text())["rows"]
    return {(row["held out"], row["seed"]): {kind: s["model"]["fmse"] for kind, s in row["scores"]["last"].items()}
            for row in rows}


def paired_row(holdout: str, seed: int, scores: dict, baseline: dict) -> dict:
    """One run's scores beside the demo's of the same fold and seed, and their differences (printed)."""
    demo = baseline[holdout, seed]
    difference = {kind: scores[kind]["model"]["fmse"] - demo[kind] for kind in scores}
    print(holdout, seed, {kind: round(d, 1) for kind, d in difference.items()}, flush=True)
    return {"held out": holdout, "seed": seed, "scores": scores, "demo fmse": demo, "fmse minus demo": difference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawn", required=True, type=Path, help="the bundled photos' drawn outlines (COCO)")
    parser.add_argument("--out", default="results/foreground-jitter")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--foreground-jitter", type=float, default=0.3)
    args = parser.parse_args()
    out, seeds, jitter = Path(args.out), [int(s) for s in args.seeds.split(",")], args.foreground_jitter
    baseline = baseline_scores()
    rows = []
    for holdout in FOLDS:
        fold, evaluation, data = fold_sets(holdout, args.drawn)
        for seed in seeds:
            config = preset("demo", data=data, seed=seed, val_every=100_000, foreground_jitter=jitter)
            _, scores = scored(config, out / "runs", f"fg{jitter}{fold}-seed{seed}", evaluation)
            rows.append(paired_row(holdout, seed, scores, baseline))
    out.mkdir(parents=True, exist_ok=True)
    name = "foreground_jitter.json" if jitter == 0.3 else f"foreground_jitter-{jitter:g}.json"
    (out / name).write_text(json.dumps(
        {"foreground_jitter": jitter, "folds": FOLDS, "seeds": seeds, "baseline": str(BASELINE), "rows": rows},
        indent=1) + "\n")


if __name__ == "__main__":
    main()
