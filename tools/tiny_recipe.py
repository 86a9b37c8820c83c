"""How `tiny`'s size, optimization and augmentation settings were chosen: each candidate recipe trained
(500 steps unless it says otherwise) on the validation set's training photos (`make data-val`) and scored on
its test photos at 256 px beside the composite and the boundary fit alone. The model, the losses and the
readings are the paper's in every recipe; only the settings `tiny` may change from `paper`
(``TINY_SIZE_FIELDS``) differ. The length and resolution recipes are also scored on the photos they trained
on (the training split, ``scores_train``): a gap that grows with training is what memorizing looks like.

    python tools/tiny_recipe.py --data data/mini-val --out results/tiny-recipe      # about 2.5 hours on 2 cores

Runs are cached under ``OUT/runs`` like ``hcl ablate``'s; ``OUT/tiny_recipe.json`` collects the scores,
which notebook 05 shows. Seeds 0 and 1 per recipe, except the lr 1e-4 and crop-scale 0.2 recipes (seed 0
only). ``b4-outlined`` trains batch 4 on another set, the validation photos' outline triples also cropped around
18 objects in ten more photos (``TRAINING_SETS``, ``--extra-outlines``), scored on the same test split.
``b4-average`` is also scored through its last weights (``scores_last``: batch 4 itself, the comparison exact).
``--recipes`` trains only the recipes named; their rows in ``OUT/tiny_recipe.json`` are replaced (appended at the
end), the others kept. The rule: the best validation output among the recipes whose L_HCL still ranks the positive first
for at least 3x chance of its queries over the last fifth of training.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hcl.checkpoint import load_checkpoint
from hcl.config import preset
from hcl.data import IHarmony4
from hcl.data.mini import make_mini
from hcl.evaluate import evaluate, summarize
from hcl.inference import load_harmonizer
from hcl.rundir import last_fifth_mean, read_log
from hcl.runcache import run_cached

EARLIER = dict(batch_size=8, lr=3e-4, schedule="constant", crop_scale=0.6, colour_jitter=0.5, widths=(16, 32, 64, 128))
# folder name → (what it is, settings, seeds); each names every setting it depends on, so that a later
# change of `tiny` keeps it
RECIPES = {
    "earlier": ("earlier tiny: batch 8, lr 3e-4 constant, crop scale 0.6, jitter 0.5", EARLIER, (0, 1)),
    "b4": ("batch 4 (tiny before its widths became 8-64)", dict(EARLIER, batch_size=4), (0, 1)),
    "b4-cosine": ("batch 4, cosine", dict(EARLIER, batch_size=4, schedule="cosine"), (0, 1)),
    "b4-lr1e-4": ("batch 4, lr 1e-4", dict(EARLIER, batch_size=4, lr=1e-4), (0,)),
    "b4-aug": ("batch 4, crop scale 0.3, jitter 0.8", dict(EARLIER, batch_size=4, crop_scale=0.3, colour_jitter=0.8),
               (0, 1)),
    "b4-aug-cosine": ("batch 4, crop scale 0.3, jitter 0.8, cosine",
                      dict(EARLIER, batch_size=4, crop_scale=0.3, colour_jitter=0.8, schedule="cosine"), (0, 1)),
    "b4-aug20-cosine": ("batch 4, crop scale 0.2, jitter 0.8, cosine",
                        dict(EARLIER, batch_size=4, crop_scale=0.2, colour_jitter=0.8, schedule="cosine"), (0,)),
    # how long, and at what size: K scaled with the sampling map (16 at 64 px)
    "b4-250": ("batch 4, 250 steps", dict(EARLIER, batch_size=4, steps=250), (0, 1)),
    "b4-64px": ("batch 4 at 64 px (K 16)", dict(EARLIER, batch_size=4, image_size=64, k=16), (0, 1)),
    "b4-64px-1000": ("batch 4 at 64 px (K 16), 1000 steps", dict(EARLIER, batch_size=4, image_size=64, k=16, steps=1000),
                     (0, 1)),
    # more photos rather than other settings: the same validation photos held out
    "b4-outlined": ("batch 4, outline triples also from ten more photos (--extra-outlines)", dict(EARLIER, batch_size=4),
                    (0, 1)),
    # a new disharmony each time a crop is drawn: one more colour change on the composite's foreground only
    "b4-fg0.3": ("batch 4, foreground jitter 0.3", dict(EARLIER, batch_size=4, foreground_jitter=0.3), (0, 1)),
    "b4-fg0.5": ("batch 4, foreground jitter 0.5", dict(EARLIER, batch_size=4, foreground_jitter=0.5), (0, 1)),
    # the paper's learning rate, with the jitter the earlier 1e-3 runs lacked
    "b4-lr1e-3": ("batch 4, lr 1e-3 (the paper's)", dict(EARLIER, batch_size=4, lr=1e-3), (0, 1)),
    # the weights averaged over the last third of the steps: one run holds both the average (scored as the row)
    # and its last weights (``scores_last``, batch 4 itself: averaging does not touch the trajectory)
    "b4-average": ("batch 4, weights averaged over the last third", dict(EARLIER, batch_size=4, average_last=1 / 3),
                   (0, 1)),
    # a smaller batch again (batch 4 beat 8), and a narrower network (fewer weights to fit a few photos with)
    "b2": ("batch 2", dict(EARLIER, batch_size=2), (0, 1)),
    "b4-narrow": ("batch 4, widths 8-64 (a quarter of the weights; tiny now)", dict(EARLIER, batch_size=4, widths=(8, 16, 32, 64)),
                  (0, 1)),
}
# recipes trained on another set than --data (folder → make_mini settings; the same photos held out, the same
# test split, so every recipe is scored on --data's test split)
TRAINING_SETS = {"b4-outlined": ("data/mini-val-outlined", dict(holdout="china,ladybird", extra_outlines=True))}
SCORED_ON_TRAINING_PHOTOS = ("b4-250", "b4-64px", "b4-64px-1000")
STEPS = 500


class LastWeights:
    """A run seen through its last weights only (its checkpoint without the average), for :func:`score`."""

    def __init__(self, run, folder: Path):
        state = load_checkpoint(run.checkpoint)
        state.pop("model_average", None)
        folder.mkdir(parents=True, exist_ok=True)
        self.checkpoint = folder / "last-weights.pt"
        torch.save(state, self.checkpoint)


def harmonizer_scores(harmonizer, data: str, split: str = "test") -> dict:
    """Composite, fit alone and ``harmonizer`` on one split of ``data`` at 256 px (fMSE, MSE, PSNR, fSSIM)."""
    summary = summarize(evaluate(IHarmony4(data, split, image_size=256), harmonizer, progress=False, baselines=True))
    return {method: {metric: summary[method]["All"][metric] for metric in ("fmse", "mse", "psnr", "fssim")}
            for method in summary}


def score(run, data: str, split: str = "test") -> dict:
    """:func:`harmonizer_scores` of a run's network on one split of the validation set: ``test``, the held-out
    validation photos; ``train``, the photos the run trained on."""
    return harmonizer_scores(load_harmonizer(run.checkpoint), data, split)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/mini-val")
    parser.add_argument("--out", default="results/tiny-recipe")
    parser.add_argument("--recipes", help="comma-separated recipes (of " + ", ".join(RECIPES) + ") to train; their rows "
                        "in OUT/tiny_recipe.json are replaced (appended at the end), the others kept (default: every recipe)")
    args = parser.parse_args()
    out = Path(args.out)
    slugs = list(RECIPES) if args.recipes is None else args.recipes.split(",")
    if set(slugs) - set(RECIPES):
        parser.error(f"--recipes {args.recipes!r}: choose from {', '.join(RECIPES)}")
    rows = []
    for slug in slugs:
        name, settings, seeds = RECIPES[slug]
        data = args.data
        if slug in TRAINING_SETS:
            data, how = TRAINING_SETS[slug]
            if not (Path(data) / "mini.json").is_file():
                make_mini(data, **how)
        for seed in seeds:
            config = preset("tiny", data=data, seed=seed, **{"steps": STEPS, **settings})
            config = config.replace(val_every=10 * config.optim.steps)
            run = run_cached(config, out / "runs", f"{slug}-seed{seed}")
            log = read_log(run.log_file)
            rows.append({"recipe": name, "seed": seed, "settings": settings, "trained on": data, "steps": config.optim.steps,
                         "image_size": config.data.image_size, "scores": score(run, args.data),
                         "hcl_accuracy_last_fifth": last_fifth_mean(log, "hcl_accuracy"),
                         "hcl_chance": float(log["hcl_chance"][-1]), "seconds": run.summary()["seconds"]})
            if slug in SCORED_ON_TRAINING_PHOTOS:
                rows[-1]["scores_train"] = score(run, args.data, "train")
            if settings.get("average_last"):
                rows[-1]["scores_last"] = score(LastWeights(run, Path("build/tiny-recipe") / run.path.name), args.data)
            print(f"{name}, seed {seed}: fMSE {rows[-1]['scores']['model']['fmse']:.1f}")
    if args.recipes is not None and (out / "tiny_recipe.json").is_file():
        names = {RECIPES[slug][0] for slug in slugs}
        kept = [row for row in json.loads((out / "tiny_recipe.json").read_text())["rows"] if row["recipe"] not in names]
        rows = kept + rows
    (out / "tiny_recipe.json").write_text(json.dumps({"data": args.data, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
