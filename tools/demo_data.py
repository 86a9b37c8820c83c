"""What the shipped demo is trained on: the `demo` preset trained on the training sets below, built from the
validation set's seven training photos, with paired seeds, and scored on the two held-out photos
(*china*, *ladybird*) at 256 px beside the composite and the boundary fit alone, on two kinds of mask:

- object outlines (``data/mini-val``'s test split: the task, as in iHarmony4), and
- generated regions on the same two photos (``--masks generated``: the boundary crosses one surface, as a
  rough mask of a user's does, and the fit alone undoes most of the change).

Training sets: ``outlines`` (``make data-val``, 400 triples), ``outlines-800`` (800 outline triples: is it
only more triples?), ``mixed`` (``--masks mixed``: the 400 outline triples plus 400 on generated regions),
``mixed-1200`` (the 400 outline triples plus 1200 on generated regions, ``--generated-train 1200``: what
the demo was trained on before), ``mixed-1200-extra`` (the same,
its generated regions also cropped from the 17 packaged photos nobody outlined, ``--extra-photos``: do more
scenes help?), and ``mixed-1200-outlined`` (its outline triples also cropped from ten packaged photos whose
objects we outlined, ``--extra-outlines``: do more objects help? what ``make data-mixed`` now builds from the
nine photos and those ten). ``mixed-1200`` and ``mixed-1200-extra`` are also trained twice as long (600 steps, ``LONGER``):
does the demo, with more scenes or without, simply need more steps?

    python tools/demo_data.py --out results/demo-data      # about 3.5 hours on 2 cores (sets it lacks are built)

Runs are cached under ``OUT/runs`` like ``hcl ablate``'s; ``OUT/demo_data.json`` collects the scores. The
committed ``results/demo-data`` ran the `demo` recipe with ψ fed the reference statistics, since turned back to
the paper's map (``results/demo-switches``): run today, every row retrains under today's recipe.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tiny_recipe import score  # tools/ is the script's folder: composite, fit alone and the network at 256 px

from hcl.config import preset
from hcl.data.mini import make_mini
from hcl.runcache import run_cached

HOLDOUT = "china,ladybird"
# name → (folder, make_mini settings); every set holds out the same two photos
TRAINING_SETS = {
    "outlines": ("data/mini-val", dict()),
    "outlines-800": ("data/mini-val-800", dict(train=800)),
    "mixed": ("data/mini-mixed-val", dict(masks_from="mixed")),
    "mixed-1200": ("data/mini-mixed-1200-val", dict(masks_from="mixed", generated_train=1200)),
    "mixed-1200-extra": ("data/mini-mixed-1200-extra-val", dict(masks_from="mixed", generated_train=1200, extra=True)),
    "mixed-1200-outlined": ("data/mini-mixed-1200-outlined-val",
                            dict(masks_from="mixed", generated_train=1200, extra_outlines=True)),
}
# the same sets trained twice as long (a row name → its set and the settings that differ from `demo`)
LONGER = {"mixed-1200-600": ("mixed-1200", dict(steps=600)), "mixed-1200-extra-600": ("mixed-1200-extra", dict(steps=600))}
EVALUATION_SETS = {
    "outlines": TRAINING_SETS["outlines"],  # its test split: the held-out photos' outlines
    "generated regions": ("data/mini-generated-val", dict(masks_from="generated")),
}
SEEDS = {"outlines": (0, 1), "outlines-800": (0,), "mixed": (0, 1), "mixed-1200": (0, 1, 2, 3, 4), "mixed-1200-extra": (0, 1, 2),
         "mixed-1200-outlined": (0, 1, 2, 3, 4),
         "mixed-1200-600": (0, 1), "mixed-1200-extra-600": (0, 1)}


def built(folder: str, settings: dict, holdout: str = HOLDOUT) -> str:
    if not (Path(folder) / "mini.json").is_file():
        make_mini(folder, holdout=holdout, **settings)
    return folder


def scored(config, folder: Path | str, name: str, evaluation: dict):
    """The run of ``config`` (trained unless cached, ``run_cached``) and its scores on each evaluation set, kept
    in its ``scores.json`` (the checkpoints are not committed: a set it lacks needs the run's checkpoint)."""
    run = run_cached(config, folder, name)
    scores_file = run.path / "scores.json"
    scores = json.loads(scores_file.read_text()) if scores_file.is_file() else {}
    missing = [kind for kind in evaluation if kind not in scores]  # a kind added later is scored then
    if missing:
        scores.update({kind: score(run, evaluation[kind]) for kind in missing})
        scores_file.write_text(json.dumps(scores, indent=1) + "\n")
    return run, {kind: scores[kind] for kind in evaluation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/demo-data")
    args = parser.parse_args()
    out = Path(args.out)
    evaluation = {name: built(*spec) for name, spec in EVALUATION_SETS.items()}
    rows = []
    rows_to_train = {name: (name, {}) for name in TRAINING_SETS} | LONGER
    for name, (training_set, changes) in rows_to_train.items():
        data = built(*TRAINING_SETS[training_set])
        for seed in SEEDS[name]:
            config = preset("demo", data=data, seed=seed, val_every=100_000, **changes)
            _, scores = scored(config, out / "runs", f"{name}-seed{seed}", evaluation)
            rows.append({"training set": name, "data": data, "seed": seed, "scores": scores})
            print(name, seed, {kind: round(s["model"]["fmse"], 1) for kind, s in rows[-1]["scores"].items()})
    (out / "demo_data.json").write_text(json.dumps({"evaluated on": evaluation, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
