"""Does averaging the demo's weights over the end of its training help? (``--average-last``, measured on validation)

One run of the `demo` recipe per fold and seed, trained with ``average_last`` (default 1/3: a uniform mean of the
weights after each of the last 100 of 300 steps). Averaging does not touch the trajectory, so each run's
checkpoint holds both candidates: the last weights (``model``, what `demo` ships today) and their mean
(``model_average``); the comparison is paired exactly, same initialization, data order and steps. Both are
scored like ``tools/drawn_outlines.py`` scores its rows, at 256 px on the held-out photos' three kinds of mask
(snapped outlines, generated regions, drawn outlines), on two folds of validation photos (*china*, *ladybird*;
*astronaut*, *chelsea*). The test split is not used.

    python tools/annotate_bundled.py --unsnapped --out build/drawn-outlines/bundled.json
    python tools/weight_average.py --drawn build/drawn-outlines/bundled.json

(``make weight-average`` runs both, then ``tools/seed_ensemble.py`` on the same runs: about 50 minutes on 2 cores;
finished runs are reused, as ``hcl ablate``'s.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from demo_data import EVALUATION_SETS, TRAINING_SETS, built  # tools/ is the script's folder
from tiny_recipe import LastWeights, score

from hcl.config import preset
from hcl.runcache import run_cached

FOLDS = ("china,ladybird", "astronaut,chelsea")


def fold_sets(holdout: str, drawn: Path) -> tuple[str, dict, str]:
    """A fold's name suffix, its three evaluation sets (kind → root) and the demo's training set without its
    photos, built unless there (``tools/drawn_outlines.py`` names them the same way)."""
    fold = "" if holdout == FOLDS[0] else "-" + "-".join(sorted(holdout.split(",")))
    evaluation = {name: built(folder + fold, settings, holdout) for name, (folder, settings) in EVALUATION_SETS.items()}
    evaluation["drawn outlines"] = built("data/mini-drawn-val" + fold, dict(annotations=drawn), holdout)
    folder, settings = TRAINING_SETS["mixed-1200-outlined"]
    return fold, evaluation, built(folder + fold, settings, holdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawn", required=True, type=Path, help="the bundled photos' drawn outlines (COCO)")
    parser.add_argument("--out", default="results/weight-average")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--average-last", type=float, default=1 / 3)
    args = parser.parse_args()
    out, seeds = Path(args.out), [int(s) for s in args.seeds.split(",")]
    rows = []
    for holdout in FOLDS:
        fold, evaluation, data = fold_sets(holdout, args.drawn)
        for seed in seeds:
            config = preset("demo", data=data, seed=seed, val_every=100_000, average_last=args.average_last)
            run = run_cached(config, out / "runs", f"demo-average{fold}-seed{seed}")
            scores_file = run.path / "scores.json"
            if not scores_file.is_file():
                last = LastWeights(run, Path("build/weight-average") / run.path.name)
                scores = {"average": {kind: score(run, root) for kind, root in evaluation.items()},
                          "last": {kind: score(last, root) for kind, root in evaluation.items()}}
                scores_file.write_text(json.dumps(scores, indent=1) + "\n")
            scores = json.loads(scores_file.read_text())
            rows.append({"held out": holdout, "seed": seed, "run": str(run.path), "scores": scores})
            print(holdout, seed, {which: {kind: round(s["model"]["fmse"], 1) for kind, s in by.items()}
                                  for which, by in scores.items()}, flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "weight_average.json").write_text(json.dumps(
        {"average_last": args.average_last, "folds": FOLDS, "seeds": seeds, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
