"""Can L_HCL's MLP rank the positive first at all? The `spread` reading's MLP trained alone.

The network is left out: the "harmonized" image is the input composite (what the image-output network
produces at step 0) or the real image (a perfect harmonization), on training crops like `tiny`'s when
this was measured (128 px, crop scale 0.6, colour jitter ±0.5, batch 8, K = 64; ``CROPS`` pins them, so
the committed result stays reproducible after `tiny`'s batch changed). Only the MLP learns (AdamW,
`tiny`'s learning rate 3e-4). Reported: the top-1 accuracy over the last fifth of the steps (chance 1/K) for raw
and for standardized windows (``--patch-norm``), a few seeds each.

    python tools/hcl_mlp_alone.py --data data/mini-iharmony4 --out results/hcl_mlp_alone.json

``--by-set`` asks why the `spread` reading stays at chance in the `demo` recipe (``results/demo-switches``) when
it learns in `tiny`: the same MLP (standardized windows) trained alone with the demo's optimizer (lr 1e-3,
cosine, 300 steps) on the demo's crops (no jitter) of three training sets of the validation photos: the bundled
object outlines (`tiny`'s), generated regions that cut through surfaces, and the demo's mix of both. The
"harmonized" image is the composite (the colour change still there) or the real image (a harmonization that has
succeeded, which the demo's transform head, started at the boundary fit, is close to from its first steps).

    python tools/hcl_mlp_alone.py --by-set --out results/hcl_mlp_alone_sets.json   # about 10 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from demo_data import EVALUATION_SETS, TRAINING_SETS as DEMO_DATA_SETS, built  # tools/ is the script's folder

from hcl.config import PATCH_NORMS, preset
from hcl.contrastive import HCLLoss
from hcl.data import IHarmony4
from hcl.train import learning_rate_factor


# the training crops measured (results/hcl_mlp_alone.json): `tiny`'s before its batch became 4
CROPS = dict(image_size=128, crop_scale=0.6, colour_jitter=0.5, batch_size=8)
# --by-set: the `demo` preset's crops and optimizer, and three of tools/demo_data.py's sets of the validation photos
_DEMO = preset("demo")
DEMO_CROPS = dict(image_size=_DEMO.data.image_size, crop_scale=_DEMO.data.crop_scale,
                  colour_jitter=_DEMO.data.colour_jitter, batch_size=_DEMO.optim.batch_size)
DEMO_OPTIMIZER = dict(lr=_DEMO.optim.lr, schedule=_DEMO.optim.schedule, steps=_DEMO.optim.steps)
TRAINING_SETS = {  # name → (folder, make_mini settings)
    "object outlines": DEMO_DATA_SETS["outlines"],
    "generated regions": EVALUATION_SETS["generated regions"],
    "the demo's mix": DEMO_DATA_SETS["mixed-1200-outlined"],
}


def training_batches(data: str, steps: int, seed: int = 0, crops: dict = CROPS) -> list[tuple[torch.Tensor, ...]]:
    """``steps`` batches of augmented training crops (``crops``): (composite, real, mask)."""
    dataset = IHarmony4(data, "train", image_size=crops["image_size"], augment=True, seed=seed,
                        colour_jitter=crops["colour_jitter"], crop_scale=crops["crop_scale"])
    loader = torch.utils.data.DataLoader(dataset, batch_size=crops["batch_size"], shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(seed))
    batches = []
    while len(batches) < steps:
        batches += [(b["composite"], b["real"], b["mask"]) for b in loader][: steps - len(batches)]
    return batches


def mlp_alone(batches, patch_norm: str, harmonized: str = "composite", seed: int = 0, lr: float | None = None,
              schedule: str = "constant") -> dict:
    """Train the `spread` MLP alone on ``batches`` (`tiny`'s learning rate unless ``lr``); accuracy per step
    and over the last fifth."""
    tiny = preset("tiny", patch_norm=patch_norm)
    torch.manual_seed(seed)
    loss_fn = HCLLoss.from_config(tiny.loss)
    base_lr = tiny.optim.lr if lr is None else lr
    optimizer = torch.optim.AdamW(loss_fn.parameters(), lr=base_lr, weight_decay=tiny.optim.weight_decay)
    accuracy = []
    for step, (composite, real, mask) in enumerate(batches):
        for group in optimizer.param_groups:
            group["lr"] = base_lr * learning_rate_factor(step, len(batches), schedule, warmup=0)
        image = composite if harmonized == "composite" else real
        loss, info = loss_fn(image, real, mask, torch.Generator().manual_seed(step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        accuracy.append(float(info["accuracy"].nanmean()))
    last = accuracy[-max(1, len(accuracy) // 5):]
    return {"patch_norm": patch_norm, "harmonized": harmonized, "seed": seed, "chance": float(info["chance"]),
            "last_fifth_accuracy": sum(last) / len(last), "accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/mini-iharmony4")
    parser.add_argument("--out", default="results/hcl_mlp_alone.json")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--by-set", action="store_true", help="the demo's optimizer and crops on three training "
                        "sets (object outlines, generated regions, the demo's mix); --data and --steps are ignored")
    args = parser.parse_args()
    if args.by_set:
        return by_training_set(args.out, args.seeds)
    batches = training_batches(args.data, args.steps)
    runs = []
    for harmonized in ("composite", "real"):
        for patch_norm in PATCH_NORMS:
            for seed in range(args.seeds):
                run = mlp_alone(batches, patch_norm, harmonized, seed)
                print(f"{harmonized:9s} {patch_norm:11s} seed {seed}: top-1 accuracy over the last fifth "
                      f"{run['last_fifth_accuracy']:.3f} (chance {run['chance']:.3f})", flush=True)
                runs.append(run)
    Path(args.out).write_text(json.dumps({"steps": args.steps, "runs": runs}) + "\n")
    print(f"wrote {args.out}")


def by_training_set(out: str, seeds: int) -> None:
    """The `spread` MLP alone, standardized windows, the demo's optimizer and crops, on each of
    ``TRAINING_SETS`` with the composite and with the real image as the harmonized foreground."""
    runs = []
    for name, spec in TRAINING_SETS.items():
        folder = built(*spec)  # made once, like tools/demo_data.py's
        batches = training_batches(folder, DEMO_OPTIMIZER["steps"], crops=DEMO_CROPS)
        for harmonized in ("composite", "real"):
            for seed in range(seeds):
                run = mlp_alone(batches, "standardize", harmonized, seed, lr=DEMO_OPTIMIZER["lr"],
                                schedule=DEMO_OPTIMIZER["schedule"])
                run["training set"], run["folder"] = name, folder
                print(f"{name:17s} {harmonized:9s} seed {seed}: top-1 accuracy over the last fifth "
                      f"{run['last_fifth_accuracy']:.3f} (chance {run['chance']:.3f})", flush=True)
                runs.append(run)
    Path(out).write_text(json.dumps({"crops": DEMO_CROPS, "optimizer": DEMO_OPTIMIZER, "runs": runs}) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
