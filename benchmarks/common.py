"""Shared benchmark helpers: timing, peak memory in a fresh process, JSON and figure output.

The machine is shared and noisy: every benchmark reports *ratios measured in the same run*
next to the absolute numbers."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.reference: the loop references shared with the tests
RESULTS = ROOT / "benchmarks" / "results"
FIGURES = ROOT / "figures"


def wall_times(fn, repeats: int = 5, warmup: int = 1) -> list[float]:
    """Wall time of each of ``repeats`` calls of ``fn()``, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_seconds(fn, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    return statistics.median(wall_times(fn, repeats, warmup))


def min_seconds(fn, repeats: int = 5, warmup: int = 1) -> float:
    """Fastest wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs: on a shared machine
    the least disturbed run is the best estimate of what the code costs."""
    return min(wall_times(fn, repeats, warmup))


def peak_rss_mib() -> float:
    """This process's peak resident memory so far. On Linux from ``VmHWM``, which starts afresh at
    exec; ``ru_maxrss`` would carry over the parent's peak into a child started by fork + exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, bytes on macOS


# glibc returns freed blocks above 128 KiB to the system and pages them back in on the next allocation: a
# training step allocates and frees the same large maps every time, so with the defaults a third of a `tiny`
# step at 256 px was page faults (3.1 s against 1.8 s per step, measured), and the more memory a variant
# uses the more of them it pays. Children keep freed memory in the process instead; set the same two
# variables in your shell to train faster on a CPU with glibc.
ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "68719476736"}


def run_isolated(module: str, *args: str) -> dict:
    """Run ``python benchmarks/<module>.py --child ARGS`` in a fresh process (so its peak memory is
    its own), with the allocator settings above, and return the JSON it prints last."""
    command = [sys.executable, str(ROOT / "benchmarks" / f"{module}.py"), "--child", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, **ALLOCATOR})
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "processor": platform.processor() or platform.machine(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def write_results(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def save_figure(figure, name: str) -> Path:
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / name
    figure.savefig(path, dpi=120, bbox_inches="tight")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def synthetic_batch(batch: int, size: int, device="cpu", seed: int = 0):
    """(composite, mask, real) of random images with a rectangular foreground."""
    g = torch.Generator().manual_seed(seed)
    composite = torch.rand(batch, 3, size, size, generator=g)
    real = (composite + 0.1 * torch.randn(batch, 3, size, size, generator=g)).clamp(0, 1)
    mask = torch.zeros(batch, 1, size, size)
    mask[:, :, size // 4: 3 * size // 4, size // 5: size // 2] = 1
    return tuple(t.to(device) for t in (composite, mask, real))


def real_step(config, batch: tuple, device="cpu"):
    """A closure that runs hcl.train.train_step — the trainer's own step — once per call, for ``config``
    (an hcl.config.RunConfig), on ``batch``. Returns (step, objective)."""
    from hcl.runtime import Runtime
    from hcl.train import build_training

    training = build_training(config, Runtime(torch.device(device)))

    def step():
        values = training.step(batch)
        if training.runtime.cuda:
            torch.cuda.synchronize()
        return values

    return step, training.objective
