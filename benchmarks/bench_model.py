"""The training step (hcl.train.train_step: forward, Eq. 13, backward, AdamW) at 256 px, batch 8: the
full method (S2AM + external fusion + L_HCL) against the bare backbone (no S2AM, no fusion, λ3 = 0) and
against S2AM in Cun & Pun's placement, channels_last off and on, for `tiny` and `paper`, in one run.
Each configuration runs in a fresh process so its peak memory is its own. On CUDA: bf16 autocast."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from common import (median_seconds, peak_rss_mib, real_step, run_isolated, save_figure,  # noqa: E402
                    synthetic_batch, write_results)
from hcl.model import count_parameters  # noqa: E402

VARIANTS = {"full": {}, "bare": {"s2am": "none", "fusion": "none", "loss_weights": (0.4, 0.5, 0.0)},
            "s2am-original": {"s2am": "original"}}


def child(model: str, variant: str, channels_last: bool, batch: int, size: int, repeats: int) -> dict:
    """One configuration's real training step (hcl.train.train_step), in this fresh process."""
    from hcl.config import preset

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    config = preset(model, channels_last=channels_last, **VARIANTS[variant])
    step, objective = real_step(config, synthetic_batch(batch, size, device), device)
    before = peak_rss_mib()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = median_seconds(step, repeats=repeats, warmup=1)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else peak_rss_mib()
    return {"model": model, "variant": variant, "channels_last": channels_last, "device": device.type,
            "parameters": count_parameters(objective.net), "step_seconds": seconds,
            "peak_memory_mib": round(peak, 1), "memory_before_step_mib": round(before, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=6, metavar=("MODEL", "VARIANT", "CL", "BATCH", "SIZE", "REPEATS"))
    parser.add_argument("--models", nargs="+", default=["tiny", "paper"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.child:
        model, variant, cl, batch, size, repeats = args.child
        print(json.dumps(child(model, variant, cl == "1", int(batch), int(size), int(repeats))))
        return

    rows = []
    for model in args.models:
        for channels_last in (False, True):
            for variant in VARIANTS:
                row = run_isolated("bench_model", model, variant, str(int(channels_last)), str(args.batch),
                                   str(args.size), str(args.repeats if model == "tiny" else max(1, args.repeats - 1)))
                rows.append(row)
                print(f"{model:>5} {variant:>4} channels_last={channels_last!s:<5} {row['step_seconds']:.3f} s/step "
                      f"peak {row['peak_memory_mib']:.0f} MiB ({row['device']})")
    overhead = {}
    for model in args.models:
        for cl in (False, True):
            full = next(r for r in rows if r["model"] == model and r["channels_last"] == cl and r["variant"] == "full")
            bare = next(r for r in rows if r["model"] == model and r["channels_last"] == cl and r["variant"] == "bare")
            overhead[f"{model}_channels_last_{cl}"] = round(full["step_seconds"] / bare["step_seconds"] - 1, 4)
    for key, value in overhead.items():
        print(f"S2AM + fusion + L_HCL over the bare backbone, {key}: {100 * value:+.1f} %")
    write_results("model", {"batch": args.batch, "size": args.size, "rows": rows,
                            "s2am_fusion_overhead_vs_bare": overhead, "target_overhead_max": 0.15})

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.models), figsize=(4.5 * len(args.models), 3.4), squeeze=False)
    for ax, model in zip(axes[0], args.models):
        labels, values = [], []
        for r in rows:
            if r["model"] == model:
                labels.append(f"{r['variant']}\n{'CL' if r['channels_last'] else 'NCHW'}")
                values.append(r["step_seconds"])
        ax.bar(labels, values, color=["C0", "C1"] * 2)
        ax.set_title(f"{model}: fwd+bwd, batch {args.batch}, {args.size} px")
        ax.set_ylabel("seconds / step")
    fig.tight_layout()
    save_figure(fig, "bench_model.png")


if __name__ == "__main__":
    main()
