"""System-level numbers: (1) training throughput of `tiny` (images/s, achieved FLOP/s against a
plain matrix product's FLOP/s measured in the same run), (2) evaluation throughput of
`hcl.metrics` against a per-image scikit-image loop, (3) `harmonize` latency and peak memory at
256, 1024 and 4096 px (each in a fresh process)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from common import (median_seconds, peak_rss_mib, real_step, run_isolated, save_figure,  # noqa: E402
                    synthetic_batch, write_results)
from hcl.metrics import all_metrics  # noqa: E402


def training_throughput(batch: int, size: int) -> dict:
    """The trainer's own step (hcl.train.train_step) for `tiny`, and its FLOP/s against a matmul's."""
    from hcl.config import preset

    torch.manual_seed(0)
    step, _ = real_step(preset("tiny"), synthetic_batch(batch, size))
    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    seconds = median_seconds(step, repeats=4)
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    matmul_seconds = median_seconds(lambda: a @ b, repeats=5)
    matmul_flops = 2 * 2048**3 / matmul_seconds
    return {"batch": batch, "size": size, "step_seconds": seconds, "images_per_second": batch / seconds,
            "flops_per_step": flops, "achieved_flops_per_second": flops / seconds,
            "matmul_flops_per_second": matmul_flops, "fraction_of_matmul": flops / seconds / matmul_flops}


def evaluation_throughput(count: int, size: int) -> dict:
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(0)
    target = torch.rand(count, 3, size, size, generator=g)
    pred = (target + 0.05 * torch.randn(count, 3, size, size, generator=g)).clamp(0, 1)
    mask = torch.zeros(count, 1, size, size)
    mask[:, :, size // 4: 3 * size // 4, size // 4: size // 2] = 1

    def batched():
        all_metrics(pred, target, mask)

    def per_image_loop():
        for i in range(count):
            p = pred[i].permute(1, 2, 0).double().numpy() * 255
            t = target[i].permute(1, 2, 0).double().numpy() * 255
            m = mask[i, 0].double().numpy()[..., None]
            mse = ((p - t) ** 2).mean()
            10 * np.log10(255**2 / mse)
            (m * (p - t) ** 2).sum() / (3 * m.sum())
            _, full = structural_similarity(t, p, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                            data_range=255, channel_axis=2, full=True)
            (full * m).sum() / (3 * m.sum())

    t_batched = median_seconds(batched, repeats=3)
    t_loop = median_seconds(per_image_loop, repeats=1, warmup=0)
    return {"images": count, "size": size, "hcl_images_per_second": count / t_batched,
            "skimage_loop_images_per_second": count / t_loop, "speedup": t_loop / t_batched}


def harmonize_child(size: int) -> dict:
    """hcl.inference with the shipped demo on a size×size uint8 composite, in a fresh process."""
    from hcl.inference import load_harmonizer

    harmonizer = load_harmonizer()
    rng = np.random.default_rng(0)
    composite = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), bool)
    mask[size // 4: 3 * size // 4, size // 4: size // 2] = True
    before = peak_rss_mib()
    harmonizer(composite, mask)
    start = time.perf_counter()
    harmonizer(composite, mask)
    seconds = time.perf_counter() - start
    return {"size": size, "seconds": seconds, "peak_memory_mib": round(peak_rss_mib(), 1),
            "memory_before_mib": round(before, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=1, metavar="SIZE")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(harmonize_child(int(args.child[0]))))
        return
    training = training_throughput(8, 256)
    print(f"training tiny, batch 8, 256 px: {training['images_per_second']:.1f} images/s, "
          f"{training['achieved_flops_per_second'] / 1e9:.1f} GFLOP/s = {100 * training['fraction_of_matmul']:.0f} % "
          f"of a 2048² matmul's {training['matmul_flops_per_second'] / 1e9:.1f} GFLOP/s")
    evaluation = evaluation_throughput(32, 256)
    print(f"evaluation: hcl {evaluation['hcl_images_per_second']:.1f} images/s vs scikit-image loop "
          f"{evaluation['skimage_loop_images_per_second']:.1f} images/s → {evaluation['speedup']:.1f}×")
    harmonize = [run_isolated("bench_system", str(size)) for size in args.sizes]
    for row in harmonize:
        print(f"harmonize {row['size']}×{row['size']}: {1000 * row['seconds']:.0f} ms, peak {row['peak_memory_mib']:.0f} MiB")
    write_results("system", {"training": training, "evaluation": evaluation, "harmonize": harmonize,
                             "targets": {"evaluation_speedup_min": 10}})
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.3))
    axes[0].bar(["tiny step", "2048² matmul"], [training["achieved_flops_per_second"] / 1e9,
                                                training["matmul_flops_per_second"] / 1e9])
    axes[0].set_ylabel("GFLOP/s")
    axes[0].set_title("achieved FLOP/s")
    axes[1].bar(["hcl.metrics", "scikit-image loop"], [evaluation["hcl_images_per_second"],
                                                       evaluation["skimage_loop_images_per_second"]])
    axes[1].set_ylabel("images / s")
    axes[1].set_title(f"evaluation: {evaluation['speedup']:.1f}×")
    sizes = [r["size"] for r in harmonize]
    axes[2].plot(sizes, [r["seconds"] for r in harmonize], "o-", label="seconds")
    axes[2].set_xscale("log", base=2)
    axes[2].set_xlabel("image side (px)")
    axes[2].set_ylabel("seconds")
    twin = axes[2].twinx()
    twin.plot(sizes, [r["peak_memory_mib"] for r in harmonize], "s--", color="C1")
    twin.set_ylabel("peak MiB", color="C1")
    axes[2].set_title("harmonize latency and memory")
    fig.tight_layout()
    save_figure(fig, "bench_system.png")


if __name__ == "__main__":
    main()
