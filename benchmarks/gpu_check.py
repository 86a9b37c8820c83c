"""``make gpu-check``: the `paper` config on CUDA — 256 px, batch 8, bf16 autocast, channels_last — for a
few hundred steps of the trainer's own step on the mini set. Writes JSON: step time, peak memory,
achieved FLOP/s against a bf16 matrix product measured in the same run, and L1 and L_pixel at the start
and the end (they must fall).

``--dry-run`` runs the same script on the CPU with `tiny`, 2 steps, 32 px (``make test`` does), so the
path is exercised before any GPU is at hand.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from common import machine  # noqa: E402
from hcl.config import preset  # noqa: E402
from hcl.data import IHarmony4  # noqa: E402
from hcl.errors import UserInputError  # noqa: E402
from hcl.model import count_parameters  # noqa: E402
from hcl.runtime import Runtime, resolve_device  # noqa: E402
from hcl.train import build_training  # noqa: E402


def matmul_flops(device, dtype, side: int) -> float:
    a, b = torch.rand(side, side, device=device, dtype=dtype), torch.rand(side, side, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start, repeats = time.perf_counter(), 10
    for _ in range(repeats):
        a @ b
    sync()
    return 2 * side**3 * repeats / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/mini-iharmony4")
    parser.add_argument("--out", default="benchmarks/results/gpu_check.json")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny, 2 steps, 32 px")
    args = parser.parse_args(argv)
    if args.dry_run:
        device, config, steps, size = torch.device("cpu"), preset("tiny", image_size=32, k=16, seed=0), 2, 32
    else:
        device = resolve_device("cuda")
        config, steps, size = preset("paper", image_size=256, seed=0), args.steps, 256
    # bf16 autocast and channels_last are the config's defaults; on the CPU both are no-ops
    training = build_training(config, Runtime(device))
    runtime, objective = training.runtime, training.objective
    dataset = IHarmony4(args.data, "train", image_size=size, augment=True, seed=0)
    loader = DataLoader(dataset, batch_size=8, shuffle=True, drop_last=True, num_workers=0 if args.dry_run else 4)

    def batches():
        while True:
            for batch in loader:
                yield tuple(batch[k] for k in ("composite", "mask", "real"))

    stream = batches()
    sync = torch.cuda.synchronize if runtime.cuda else (lambda: None)
    if runtime.cuda:
        torch.cuda.reset_peak_memory_stats()
    history, times = [], []
    flops = None
    for step in range(steps):
        batch = next(stream)
        sync()
        start = time.perf_counter()
        if step == 1:
            with FlopCounterMode(display=False) as counter:
                values = training.step(batch)
            flops = counter.get_total_flops()
        else:
            values = training.step(batch)
        sync()
        times.append(time.perf_counter() - start)
        history.append({k: values[k] for k in ("l1", "pixel", "hcl")})
    window = max(1, min(20, steps // 5))
    steady = times[min(len(times) - 1, 5):] or times
    step_seconds = sorted(steady)[len(steady) // 2]
    peak = torch.cuda.max_memory_allocated() / 2**20 if runtime.cuda else None
    reference = matmul_flops(device, torch.bfloat16 if runtime.cuda else torch.float32, 8192 if runtime.cuda else 512)
    start_losses = {k: sum(h[k] for h in history[:window]) / window for k in ("l1", "pixel")}
    end_losses = {k: sum(h[k] for h in history[-window:]) / window for k in ("l1", "pixel")}
    result = {
        "machine": machine(), "dry_run": args.dry_run, "config": "tiny" if args.dry_run else "paper",
        "parameters": count_parameters(objective.net), "image_size": size, "batch": 8, "steps": steps,
        "bf16_autocast": runtime.cuda, "channels_last": runtime.cuda,
        "step_seconds_median": step_seconds, "images_per_second": 8 / step_seconds,
        "peak_memory_mib": peak, "flops_per_step": flops,
        "achieved_flops_per_second": flops / step_seconds if flops else None,
        "matmul_flops_per_second": reference,
        "fraction_of_matmul": flops / step_seconds / reference if flops else None,
        "l1_start": start_losses["l1"], "l1_end": end_losses["l1"],
        "pixel_start": start_losses["pixel"], "pixel_end": end_losses["pixel"],
        "losses_fell": end_losses["l1"] < start_losses["l1"] and end_losses["pixel"] < start_losses["pixel"],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except UserInputError as error:
        print(f"gpu-check: error: {error}", file=sys.stderr)
        raise SystemExit(1)
