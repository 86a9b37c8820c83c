"""Would averaging three seeds' outputs tame the seed lottery? (measured on validation; shipped since)

The demo's score on held-out photos moves more with the seed than with any switch we tried. One known remedy is
an ensemble: run the networks trained with seeds 0, 1 and 2 and average their harmonized images. This scores
that average, on the runs of ``tools/weight_average.py`` (their last weights, the `demo` recipe as shipped), against
each seed alone (as that tool scored it, from the run's ``scores.json``), on both folds of validation photos and the three kinds of mask (snapped outlines, generated
regions, drawn outlines). The test split is not used.

    python tools/weight_average.py --drawn build/drawn-outlines/bundled.json   # trains the runs (cached)
    python tools/seed_ensemble.py --drawn build/drawn-outlines/bundled.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tiny_recipe import harmonizer_scores  # tools/ is the script's folder
from weight_average import FOLDS, LastWeights, fold_sets

from hcl.config import preset
from hcl.ensemble import HarmonizationEnsemble
from hcl.inference import Harmonizer, load_harmonizer
from hcl.runcache import run_cached


def output_mean(members: list[Harmonizer]) -> Harmonizer:
    """The members' harmonized images averaged inside the mask, the composite's background kept: the
    :class:`hcl.ensemble.HarmonizationEnsemble` the shipped demo checkpoint loads as."""
    return Harmonizer(HarmonizationEnsemble([member.net for member in members]), members[0].net_size)


def fmse(harmonizer, root: str) -> dict:
    return {method: scores["fmse"] for method, scores in harmonizer_scores(harmonizer, root).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawn", required=True, type=Path, help="the bundled photos' drawn outlines (COCO)")
    parser.add_argument("--runs", default="results/weight-average/runs")
    parser.add_argument("--out", default="results/weight-average/seed_ensemble.json")
    parser.add_argument("--average-last", type=float, default=1 / 3, help="as the runs were trained")
    args = parser.parse_args()
    folds = []
    for holdout in FOLDS:
        fold, evaluation, data = fold_sets(holdout, args.drawn)
        members, alone = [], []
        for seed in (0, 1, 2):
            config = preset("demo", data=data, seed=seed, val_every=100_000, average_last=args.average_last)
            run = run_cached(config, args.runs, f"demo-average{fold}-seed{seed}")
            members.append(load_harmonizer(LastWeights(run, Path("build/weight-average") / run.path.name).checkpoint))
            alone.append(json.loads((run.path / "scores.json").read_text())["last"])  # tools/weight_average.py's
        scores = {kind: {"seeds": [a[kind]["model"]["fmse"] for a in alone], **fmse(output_mean(members), root)}
                  for kind, root in evaluation.items()}
        folds.append({"held out": holdout, "fMSE": scores})
        print(holdout, {kind: {"seeds": [round(v, 1) for v in s["seeds"]], "ensemble": round(s["model"], 1),
                               "fit": round(s["fit"], 1)} for kind, s in scores.items()}, flush=True)
    Path(args.out).write_text(json.dumps({"members": "seeds 0, 1, 2 of the demo recipe (last weights)",
                                          "folds": folds}, indent=1) + "\n")


if __name__ == "__main__":
    main()
