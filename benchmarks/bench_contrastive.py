"""L_HCL's cost: (1) vectorized sampling + cropping + embedding against a per-patch Python loop,
(2) L_HCL's share of a `tiny` training step at 256 px, batch 8, K = 256."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import median_seconds, save_figure, write_results  # noqa: E402
from hcl.contrastive import HCLLoss, crop_patches, sample_region_cells  # noqa: E402
from hcl.losses import HarmonizationLoss  # noqa: E402
from hcl.model import build  # noqa: E402


def looped_embedding(harmonized, mask, k, embed, generator, factor=4, window=8):
    """The same work one patch at a time: per image, list the region's cells, draw K, crop each
    8×8 window with a Python loop over pixels' rows, embed each patch alone."""
    sampling_map = F.avg_pool2d(harmonized * mask, factor)
    pooled = F.avg_pool2d(mask, factor)[:, 0]
    out = []
    for b in range(harmonized.shape[0]):
        cells = (pooled[b] >= 0.5).nonzero()
        picks = cells[torch.randint(len(cells), (k,), generator=generator)]
        for row, col in picks.tolist():
            patch = torch.zeros(3, window, window)
            for i in range(window):
                r = row - window // 2 + i
                if 0 <= r < sampling_map.shape[2]:
                    lo, hi = max(0, col - window // 2), min(sampling_map.shape[3], col + window // 2)
                    patch[:, i, lo - (col - window // 2): hi - (col - window // 2)] = sampling_map[b, :, r, lo:hi]
            out.append(F.normalize(embed(patch.flatten()[None]), dim=-1))
    return torch.cat(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--k", type=int, default=256)
    args = parser.parse_args()
    torch.manual_seed(0)
    harmonized = torch.rand(args.batch, 3, args.size, args.size)
    target = torch.rand_like(harmonized)
    mask = torch.zeros(args.batch, 1, args.size, args.size)
    mask[:, :, args.size // 4: 3 * args.size // 4, args.size // 5: args.size // 2] = 1
    loss = HCLLoss(k=args.k)
    generator = torch.Generator().manual_seed(0)

    def vectorized():
        with torch.no_grad():
            cells, _ = sample_region_cells(mask, args.k, generator)
            loss.embed(crop_patches(F.avg_pool2d(harmonized * mask, 4), cells))

    def looped():
        with torch.no_grad():
            looped_embedding(harmonized, mask, args.k, loss.embed.mlp, generator)

    t_vectorized = median_seconds(vectorized, repeats=5)
    t_looped = median_seconds(looped, repeats=1, warmup=0)
    speedup = t_looped / t_vectorized
    print(f"sampling + crop + embed, {args.batch}×{args.k} patches: vectorized {1000 * t_vectorized:.1f} ms, "
          f"loop {1000 * t_looped:.0f} ms → {speedup:.0f}× faster")

    net = build("tiny")
    criterion = HarmonizationLoss()
    without = HarmonizationLoss(0.4, 0.5, 0.0)
    optimizer = torch.optim.AdamW(list(net.parameters()) + list(criterion.parameters()), lr=1e-3)

    def train_step(objective):
        def run():
            out = objective(net(harmonized, mask), target, mask, generator)["total"]
            optimizer.zero_grad(set_to_none=True)
            out.backward()
            optimizer.step()
        return run

    t_step = median_seconds(train_step(criterion), repeats=4)
    t_step_without = median_seconds(train_step(without), repeats=4)

    def hcl_alone():
        h = harmonized.clone().requires_grad_(True)
        value, _ = loss(h, target, mask, generator)
        value.backward()

    t_hcl = median_seconds(hcl_alone, repeats=5)
    share = t_hcl / t_step
    print(f"tiny step {t_step:.3f} s with L_HCL, {t_step_without:.3f} s without; L_HCL fwd+bwd {1000 * t_hcl:.1f} ms "
          f"= {100 * share:.1f} % of the step (step difference {100 * (t_step / t_step_without - 1):+.1f} %)")
    write_results("contrastive", {
        "batch": args.batch, "size": args.size, "k": args.k,
        "vectorized_seconds": t_vectorized, "loop_seconds": t_looped, "speedup_vectorized_vs_loop": round(speedup, 1),
        "tiny_step_seconds": t_step, "tiny_step_without_hcl_seconds": t_step_without, "hcl_seconds": t_hcl,
        "hcl_share_of_step": round(share, 4), "targets": {"speedup_min": 50, "hcl_share_max": 0.10},
    })
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    axes[0].bar(["vectorized", "per-patch loop"], [t_vectorized, t_looped])
    axes[0].set_yscale("log")
    axes[0].set_ylabel("seconds")
    axes[0].set_title(f"sample+crop+embed {args.batch}×{args.k}: {speedup:.0f}×")
    axes[1].bar(["tiny step", "L_HCL fwd+bwd"], [t_step, t_hcl])
    axes[1].set_title(f"L_HCL share of a step: {100 * share:.1f} %")
    fig.tight_layout()
    save_figure(fig, "bench_contrastive.png")


if __name__ == "__main__":
    main()
