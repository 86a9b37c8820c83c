"""make-mini build time and loader throughput (triples/s at 256 px, 0 and 2 workers)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matplotlib.pyplot as plt  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from common import save_figure, write_results  # noqa: E402
from hcl.data import IHarmony4  # noqa: E402
from hcl.data.mini import make_mini  # noqa: E402


def loader_throughput(root, workers: int, size: int = 256, batch_size: int = 16, passes: int = 2) -> float:
    dataset = IHarmony4(root, "train", image_size=size, augment=True)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers, persistent_workers=workers > 0)
    for _ in loader:  # warm-up pass (file cache, worker start)
        break
    start, count = time.perf_counter(), 0
    for _ in range(passes):
        for batch in loader:
            count += len(batch["name"])
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--test", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "mini"
        start = time.perf_counter()
        make_mini(root, train=args.train, test=args.test, seed=0, progress=False)
        build_seconds = time.perf_counter() - start
        throughput = {workers: loader_throughput(root, workers) for workers in (0, 2)}
    for workers, value in throughput.items():
        print(f"loader, {workers} workers: {value:.0f} triples/s at 256 px")
    print(f"make-mini {args.train}+{args.test}: {build_seconds:.1f} s")
    write_results("data", {
        "make_mini": {"train": args.train, "test": args.test, "seconds": round(build_seconds, 2)},
        "loader_triples_per_second_256px": {f"workers_{w}": round(v, 1) for w, v in throughput.items()},
        "targets": {"make_mini_seconds_max": 60, "loader_2_workers_min": 200},
    })
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar([f"{w} workers" for w in throughput], list(throughput.values()))
    ax.axhline(200, color="k", ls="--", lw=0.8, label="target 200/s")
    ax.set_ylabel("triples / s (256 px, augmented)")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, "bench_data.png")


if __name__ == "__main__":
    main()
