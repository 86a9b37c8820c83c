"""The shipped demo checkpoint (three seeds' outputs averaged) against each of its members, on the test photos.

Measured after the choice, which was made on validation photos (``tools/seed_ensemble.py``,
``results/weight-average/seed_ensemble.json``); nothing here chooses anything. Three test sets of the same two
photos (coffee, rocket), 256 px: the mini set's snapped object outlines (the headline), the same objects'
outlines as drawn by hand (``data/mini-drawn``, ``tools/drawn_outlines.py``) and generated regions
(``hcl data make-mini data/mini-generated-test --masks generated``). The members are the runs
``make demo-checkpoint`` trained (``runs/demo-seed0`` …), which are not committed.

    make demo-checkpoint
    python tools/demo_ensemble.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hcl.checkpoint import DEMO_CHECKPOINT, load_checkpoint
from hcl.data import IHarmony4
from hcl.evaluate import evaluate, summarize
from hcl.inference import load_harmonizer

TEST_SETS = {"snapped outlines": "data/mini-iharmony4", "drawn outlines": "data/mini-drawn",
             "generated regions": "data/mini-generated-test"}
METRICS = ("fmse", "mse", "psnr", "fssim")


def scores(checkpoint, root: str) -> dict:
    summary = summarize(evaluate(IHarmony4(root, "test", image_size=256), load_harmonizer(checkpoint),
                                 progress=False, baselines=True))
    return {method: {m: summary[method]["All"][m] for m in METRICS} for method in summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(DEMO_CHECKPOINT), help="the ensemble (default: the shipped one)")
    parser.add_argument("--runs", default="runs/demo-seed{seed}", help="its members' run folders, {seed} filled in")
    parser.add_argument("--out", default="results/demo-ensemble/test.json")
    args = parser.parse_args()
    seeds = load_checkpoint(args.checkpoint)["seeds"]
    members = {seed: Path(args.runs.format(seed=seed)) / "checkpoints" / "last.pt" for seed in seeds}
    result = {"checkpoint": args.checkpoint, "seeds": seeds, "test sets": {}}
    for kind, root in TEST_SETS.items():
        ensemble = scores(args.checkpoint, root)
        by_seed = {str(seed): scores(path, root)["model"] for seed, path in members.items()}
        result["test sets"][kind] = {"data": root, "composite": ensemble["composite"], "fit": ensemble["fit"],
                                     "ensemble": ensemble["model"], "members": by_seed}
        print(kind, {"composite": round(ensemble["composite"]["fmse"], 1), "fit": round(ensemble["fit"]["fmse"], 1),
                     "ensemble": round(ensemble["model"]["fmse"], 1),
                     "members": [round(s["fmse"], 1) for s in by_seed.values()]}, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
