"""L_HCL's cost: (1) vectorized sampling + cropping + embedding against the per-patch loop of
tests/reference.py (the references the tests check against), (2) L_HCL's share of the trainer's own
`tiny` step (hcl.train.train_step) at 256 px, batch 8, K = 256, with and without L_HCL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import median_seconds, real_step, save_figure, synthetic_batch, write_results  # noqa: E402
from hcl.config import preset  # noqa: E402
from hcl.contrastive import HCLLoss, crop_patches, sample_region_cells  # noqa: E402
from tests.reference import crop_loop, region_cells_loop  # noqa: E402


def looped_embedding(harmonized, mask, k, embed, generator, factor=4):
    """The same work one patch at a time: per image, list the region's cells with loops, draw K,
    crop each window with the reference loop, embed each patch alone."""
    sampling_map = F.avg_pool2d(harmonized * mask, factor)
    out = []
    for b in range(harmonized.shape[0]):
        cells = sorted(region_cells_loop(mask[b, 0], factor))
        picks = [cells[i] for i in torch.randint(len(cells), (k,), generator=generator).tolist()]
        for patch in crop_loop(sampling_map[b], picks):
            out.append(F.normalize(embed(patch[None]), dim=-1))
    return torch.cat(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--k", type=int, default=256)
    args = parser.parse_args()
    torch.manual_seed(0)
    composite, mask, target = synthetic_batch(args.batch, args.size)
    loss = HCLLoss(k=args.k, reading="spread", patch_norm="none")  # raw 8×8 windows, as the loop embeds them
    generator = torch.Generator().manual_seed(0)

    def vectorized():
        with torch.no_grad():
            cells, _ = sample_region_cells(mask, args.k, generator)
            loss.embed(crop_patches(F.avg_pool2d(composite * mask, 4), cells))

    def looped():
        with torch.no_grad():
            looped_embedding(composite, mask, args.k, loss.embed.mlp, generator)

    t_vectorized = median_seconds(vectorized, repeats=5)
    t_looped = median_seconds(looped, repeats=1, warmup=0)
    speedup = t_looped / t_vectorized
    print(f"sampling + crop + embed, {args.batch}×{args.k} patches: vectorized {1000 * t_vectorized:.1f} ms, "
          f"loop {1000 * t_looped:.0f} ms → {speedup:.0f}× faster")

    batch = (composite, mask, target)
    step_with, _ = real_step(preset("tiny"), batch)
    step_without, _ = real_step(preset("tiny", loss_weights=(0.4, 0.5, 0.0)), batch)
    t_step = median_seconds(step_with, repeats=4)
    t_step_without = median_seconds(step_without, repeats=4)
    default = HCLLoss(k=args.k)

    def hcl_alone():
        h = composite.clone().requires_grad_(True)
        value, _ = default(h, target, mask, generator, composite=composite)
        value.backward()

    t_hcl = median_seconds(hcl_alone, repeats=5)
    share = t_hcl / t_step
    print(f"tiny train_step {t_step:.3f} s with L_HCL, {t_step_without:.3f} s without; L_HCL ('{default.reading}') "
          f"fwd+bwd {1000 * t_hcl:.1f} ms = {100 * share:.1f} % of the step "
          f"(step difference {100 * (t_step / t_step_without - 1):+.1f} %)")
    write_results("contrastive", {
        "batch": args.batch, "size": args.size, "k": args.k, "reading": default.reading,
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
    axes[1].bar(["tiny train_step", "L_HCL fwd+bwd"], [t_step, t_hcl])
    axes[1].set_title(f"L_HCL share of a step: {100 * share:.1f} %")
    fig.tight_layout()
    save_figure(fig, "bench_contrastive.png")


if __name__ == "__main__":
    main()
