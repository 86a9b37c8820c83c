"""Can L_HCL's MLP rank the positive first at all? The `spread` reading's MLP trained alone.

The network is left out: the "harmonized" image is the input composite (what the image-output network
produces at step 0) or the real image (a perfect harmonization), on training crops like `tiny`'s when
this was measured (128 px, crop scale 0.6, colour jitter ±0.5, batch 8, K = 64; ``CROPS`` pins them, so
the committed result stays reproducible after `tiny`'s batch changed). Only the MLP learns (AdamW,
`tiny`'s learning rate 3e-4). Reported: the top-1 accuracy over the last fifth of the steps (chance 1/K) for raw
and for standardized windows (``--patch-norm``), a few seeds each.

    python tools/hcl_mlp_alone.py --data data/mini-iharmony4 --out results/hcl_mlp_alone.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hcl.config import PATCH_NORMS, preset
from hcl.contrastive import HCLLoss
from hcl.data import IHarmony4


# the training crops measured (results/hcl_mlp_alone.json): `tiny`'s before its batch became 4
CROPS = dict(image_size=128, crop_scale=0.6, colour_jitter=0.5, batch_size=8)


def training_batches(data: str, steps: int, seed: int = 0) -> list[tuple[torch.Tensor, ...]]:
    """``steps`` batches of augmented training crops (``CROPS``): (composite, real, mask)."""
    dataset = IHarmony4(data, "train", image_size=CROPS["image_size"], augment=True, seed=seed,
                        colour_jitter=CROPS["colour_jitter"], crop_scale=CROPS["crop_scale"])
    loader = torch.utils.data.DataLoader(dataset, batch_size=CROPS["batch_size"], shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(seed))
    batches = []
    while len(batches) < steps:
        batches += [(b["composite"], b["real"], b["mask"]) for b in loader][: steps - len(batches)]
    return batches


def mlp_alone(batches, patch_norm: str, harmonized: str = "composite", seed: int = 0) -> dict:
    """Train the `spread` MLP alone on ``batches``; accuracy per step and over the last fifth."""
    tiny = preset("tiny", patch_norm=patch_norm)
    torch.manual_seed(seed)
    loss_fn = HCLLoss.from_config(tiny.loss)
    optimizer = torch.optim.AdamW(loss_fn.parameters(), lr=tiny.optim.lr, weight_decay=tiny.optim.weight_decay)
    accuracy = []
    for step, (composite, real, mask) in enumerate(batches):
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
