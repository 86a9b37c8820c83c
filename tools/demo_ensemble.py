"""The shipped demo checkpoint (three seeds' outputs averaged) against each of its members, on the test photos.

Measured after the choice, which was made on validation photos (``tools/seed_ensemble.py``,
``results/weight-average/seed_ensemble.json``); nothing here chooses anything. Three test sets of the same two
photos (coffee, rocket), 256 px: the mini set's snapped object outlines (the headline), the same objects'
outlines as drawn by hand (``data/mini-drawn``, ``tools/drawn_outlines.py``) and generated regions
(``hcl data make-mini data/mini-generated-test --masks generated``). Each member is scored with the weights the
checkpoint holds (float16, as shipped), so no training run is needed.

    python tools/demo_ensemble.py            # the shipped checkpoint; after make demo-checkpoint, the new one
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tiny_recipe import harmonizer_scores as scores  # tools/ is the script's folder

from hcl.checkpoint import DEMO_CHECKPOINT, load_checkpoint
from hcl.inference import Harmonizer, load_harmonizer

TEST_SETS = {"snapped outlines": "data/mini-iharmony4", "drawn outlines": "data/mini-drawn",
             "generated regions": "data/mini-generated-test"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="a checkpoint of several networks (default: the shipped one)")
    parser.add_argument("--out", default="results/demo-ensemble/test.json")
    args = parser.parse_args()
    state = load_checkpoint(args.checkpoint)
    if "members" not in state:
        parser.error(f"{args.checkpoint or DEMO_CHECKPOINT}: holds one network, not an ensemble; nothing to compare")
    ensemble = load_harmonizer(args.checkpoint)
    members = {seed: Harmonizer(net, ensemble.net_size) for seed, net in zip(state["seeds"], ensemble.net.members)}
    name = args.checkpoint or f"hcl/assets/{DEMO_CHECKPOINT.name}"
    result = {"checkpoint": name, "seeds": state["seeds"], "test sets": {}}
    for kind, root in TEST_SETS.items():
        together = scores(ensemble, root)
        by_seed = {str(seed): scores(member, root)["model"] for seed, member in members.items()}
        result["test sets"][kind] = {"data": root, "composite": together["composite"], "fit": together["fit"],
                                     "ensemble": together["model"], "members": by_seed}
        print(kind, {"composite": round(together["composite"]["fmse"], 1), "fit": round(together["fit"]["fmse"], 1),
                     "ensemble": round(together["model"]["fmse"], 1),
                     "members": [round(s["fmse"], 1) for s in by_seed.values()]}, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
