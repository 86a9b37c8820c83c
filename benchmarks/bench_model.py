"""The training step (hcl.train.train_step: forward, Eq. 13, backward, AdamW) at 256 px, batch 8: the
full method (S2AM + external fusion + L_HCL) against the bare backbone (no S2AM, no fusion, λ3 = 0), with
S2AM in our placement and in Cun & Pun's, channels_last off and on, in one run. Each configuration runs in
a fresh process so its peak memory is its own; ``--rounds`` repeats the whole set, each round runs the
configurations back to back, and the ratios reported are the median over rounds of each round's ratio
(the machine is shared: a round's configurations see the same load). On CUDA: bf16 autocast.

Time against arithmetic: each child also counts the step's FLOPs (``torch.utils.flop_counter``:
convolutions and matrix products, forward and backward). The parts' *time* overhead over the bare
backbone, divided by their *FLOP* overhead, says how much of their cost is arithmetic (1.0) and how much
is memory traffic and small kernels (above 1.0); the target is at most 1.2."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from common import (min_seconds, peak_rss_mib, real_step, run_isolated, save_figure,  # noqa: E402
                    synthetic_batch, write_results)
from hcl.model import count_parameters  # noqa: E402

VARIANTS = {"full": {"s2am": "ours"}, "bare": {"s2am": "none", "fusion": "none", "loss_weights": (0.4, 0.5, 0.0)},
            "s2am-original": {"s2am": "original"}}
TARGET_TIME_PER_FLOP_OVERHEAD = 1.2


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
    seconds = min_seconds(step, repeats=repeats, warmup=1)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else peak_rss_mib()
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return {"model": model, "variant": variant, "channels_last": channels_last, "device": device.type,
            "parameters": count_parameters(objective.net), "step_seconds": seconds, "flops": counter.get_total_flops(),
            "peak_memory_mib": round(peak, 1), "memory_before_step_mib": round(before, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=6, metavar=("MODEL", "VARIANT", "CL", "BATCH", "SIZE", "REPEATS"))
    parser.add_argument("--models", nargs="+", default=["tiny"], help="tiny and/or paper (paper: ~20 s a step on a CPU)")
    parser.add_argument("--rounds", type=int, default=8, help="repeat the whole set; ratios are paired within a round")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.child:
        model, variant, cl, batch, size, repeats = args.child
        print(json.dumps(child(model, variant, cl == "1", int(batch), int(size), int(repeats))))
        return

    # channels_last is a CUDA switch (build_training applies it only there): on a CPU the rows would repeat
    layouts = (False, True) if torch.cuda.is_available() else (False,)
    rounds = []  # each round runs every configuration back to back, so its ratios are paired in time
    for round_ in range(args.rounds):
        rows = {}
        for model in args.models:
            for channels_last in layouts:
                for variant in VARIANTS:
                    row = run_isolated("bench_model", model, variant, str(int(channels_last)), str(args.batch),
                                       str(args.size), str(args.repeats if model == "tiny" else max(1, args.repeats - 1)))
                    rows[(model, variant, channels_last)] = row
                    print(f"round {round_ + 1}: {model:>5} {variant:>13} channels_last={channels_last!s:<5} "
                          f"{row['step_seconds']:.3f} s/step {row['flops'] / 1e9:.1f} GFLOP "
                          f"peak {row['peak_memory_mib']:.0f} MiB ({row['device']})")
        rounds.append(rows)
    overhead, versus_flops = {}, {}
    for model in args.models:
        for cl in layouts:
            for variant in ("full", "s2am-original"):
                key = f"{model}_{variant}_channels_last_{cl}"
                ratios = [r[(model, variant, cl)]["step_seconds"] / r[(model, "bare", cl)]["step_seconds"] for r in rounds]
                time_ratio = statistics.median(ratios)
                flop_ratio = rounds[0][(model, variant, cl)]["flops"] / rounds[0][(model, "bare", cl)]["flops"]
                overhead[key] = round(time_ratio - 1, 4)
                versus_flops[key] = {"time_ratio": round(time_ratio, 4), "time_ratio_per_round": [round(x, 4) for x in ratios],
                                     "flop_ratio": round(flop_ratio, 4),
                                     "time_overhead_per_flop_overhead": round((time_ratio - 1) / (flop_ratio - 1), 3)}
    for key, values in versus_flops.items():
        verdict = "met" if values["time_overhead_per_flop_overhead"] <= TARGET_TIME_PER_FLOP_OVERHEAD else "MISSED"
        print(f"{key}: time ×{values['time_ratio']:.2f} (median of the rounds' paired ratios "
              f"{values['time_ratio_per_round']}), FLOPs ×{values['flop_ratio']:.2f} over the bare backbone: "
              f"time overhead = {values['time_overhead_per_flop_overhead']:.2f} × FLOP overhead "
              f"(target ≤ {TARGET_TIME_PER_FLOP_OVERHEAD}: {verdict})")
    rows = [row for r in rounds for row in r.values()]
    write_results("model", {"batch": args.batch, "size": args.size, "rounds": args.rounds, "rows": rows,
                            "s2am_fusion_overhead_vs_bare": overhead, "versus_flops": versus_flops,
                            "target_time_overhead_per_flop_overhead": TARGET_TIME_PER_FLOP_OVERHEAD})

    import matplotlib.pyplot as plt

    import numpy as np

    fig, axes = plt.subplots(1, len(args.models), figsize=(6 * len(args.models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], args.models):
        keys = [(variant, cl) for cl in layouts for variant in ("full", "s2am-original")]
        x = np.arange(len(keys))
        values = [versus_flops[f"{model}_{v}_channels_last_{cl}"] for v, cl in keys]
        ax.bar(x - 0.2, [v["time_ratio"] for v in values], 0.4, label="time ÷ bare")
        ax.bar(x + 0.2, [v["flop_ratio"] for v in values], 0.4, label="FLOPs ÷ bare")
        ax.axhline(1, color="k", lw=0.8)
        ax.set_xticks(x, [f"{v}\n{'CL' if cl else 'NCHW'}" for v, cl in keys], fontsize=8)
        ax.set_title(f"{model}: train step, batch {args.batch}, {args.size} px, over the bare backbone", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, "bench_model.png")


if __name__ == "__main__":
    main()
