"""Time to quality on a CPU — for a tutorial on a laptop, the performance that matters: mini test fMSE
(256 px) against CPU minutes of training for

- ``plain-unet``: a plain UNet written here (4 scales, two 3×3 conv + batch norm + ReLU per scale, no
  S2AM, no fusion; output ``composite + mask·Δ``; L1 + foreground L1 on [0, 1]; AdamW 1e-3; batch 8;
  128-px crops from ``IHarmony4(augment=True)``, no colour jitter);
- ``tiny-bare``: hcl's `tiny` without the paper's parts (no S2AM, no fusion, λ3 = 0), our head;
- ``tiny-full``: `tiny` with S2AM, style fusion and L_HCL (notebook 05's recipe).

CPU minutes are this process's CPU time (both threads), so other load on a shared machine does not
count; evaluation time is excluded. Writes benchmarks/results/time_to_quality.json and a figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from common import save_figure, write_results  # noqa: E402
from hcl.data import IHarmony4  # noqa: E402
from hcl.evaluate import evaluate, summarize  # noqa: E402
from hcl.inference import Harmonizer  # noqa: E402


class PlainUNet(nn.Module):
    """The baseline: a 4-scale UNet of plain conv–BN–ReLU pairs predicting a change inside the mask."""

    def __init__(self, widths=(32, 64, 128, 256)):
        super().__init__()

        def pair(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                                 nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.down = nn.ModuleList([pair(4, widths[0])] + [pair(widths[i - 1], widths[i]) for i in range(1, len(widths))])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i], widths[i - 1], 2, stride=2) for i in range(len(widths) - 1, 0, -1)])
        self.merge = nn.ModuleList([pair(2 * widths[i - 1], widths[i - 1]) for i in range(len(widths) - 1, 0, -1)])
        self.head = nn.Conv2d(widths[0], 3, 1)
        self.stride = 2 ** (len(widths) - 1)

    def forward(self, composite, mask):
        x, skips = torch.cat([composite, mask], 1), []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips[:-1])):
            x = merge(torch.cat([up(x), skip], 1))
        return (composite + mask * self.head(x)).clamp(0, 1)


class PlainHarmonizer(Harmonizer):
    """hcl.inference's any-resolution path for the baseline (it predicts an image)."""

    def __init__(self, net, size):
        self.device, self.net, self.net_size, self.source = torch.device("cpu"), net.eval(), size, "plain UNet"

    @torch.no_grad()
    def harmonize_tensor(self, composite, mask):
        from hcl.tensors import resize_image, resize_mask

        small, small_mask = resize_image(composite, (self.net_size,) * 2), resize_mask(mask, (self.net_size,) * 2)
        change = nn.functional.interpolate(self.net(small, small_mask) - small, size=composite.shape[-2:], mode="bilinear")
        return torch.where(mask.expand_as(composite) > 0.5, (composite + change).clamp(0, 1), composite)


def test_fmse(harmonizer, test_set, limit) -> float:
    was = harmonizer.net.training
    harmonizer.net.eval()
    scores = summarize(evaluate(test_set, harmonizer, progress=False, limit=limit))
    harmonizer.net.train(was)
    return scores["model"]["All"]["fmse"], scores["composite"]["All"]["fmse"]


def run(method: str, data: str, minutes: float, every: float, size: int, limit: int) -> list[dict]:
    from hcl.config import preset
    from hcl.train import build_training

    torch.manual_seed(0)
    test_set = IHarmony4(data, "test", image_size=256)
    if method == "plain-unet":
        net = PlainUNet()
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
        harmonizer = PlainHarmonizer(net, size)
        jitter = 0.0

        def step(composite, mask, real):
            out = net(composite, mask)
            loss = (out - real).abs().mean() + ((out - real).abs() * mask).sum() / (3 * mask.sum()).clamp_min(1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    else:
        changes = {"s2am": "none", "fusion": "none", "loss_weights": (0.4, 0.5, 0.0)} if method == "tiny-bare" else {}
        config = preset("tiny", image_size=size, device="cpu", schedule="constant", **changes)
        training = build_training(config)
        harmonizer = Harmonizer(training.net, size)
        training.model.train()  # the harmonizer put the net in eval mode
        jitter = config.data.colour_jitter

        def step(composite, mask, real):
            training.step((composite, mask, real))

    train_set = IHarmony4(data, "train", image_size=size, augment=True, seed=0, colour_jitter=jitter)
    cpu, points, epoch, steps = 0.0, [], 0, 0
    fmse, composite_fmse = test_fmse(harmonizer, test_set, limit)
    points.append({"cpu_minutes": 0.0, "steps": 0, "fmse": fmse, "composite_fmse": composite_fmse})
    next_eval = every
    while cpu / 60 < minutes:
        train_set.set_epoch(epoch)
        for batch in DataLoader(train_set, batch_size=8, shuffle=True, drop_last=True, num_workers=0,
                                generator=torch.Generator().manual_seed(epoch)):
            start = time.process_time()
            step(batch["composite"], batch["mask"], batch["real"])
            cpu += time.process_time() - start
            steps += 1
            if cpu / 60 >= next_eval or cpu / 60 >= minutes:
                fmse, _ = test_fmse(harmonizer, test_set, limit)
                points.append({"cpu_minutes": round(cpu / 60, 3), "steps": steps, "fmse": fmse,
                               "composite_fmse": composite_fmse})
                print(f"  {method}: {cpu / 60:5.1f} CPU min, {steps:4d} steps, test fMSE {fmse:7.1f} "
                      f"(composite {composite_fmse:.1f})", flush=True)
                next_eval += every
            if cpu / 60 >= minutes:
                break
        epoch += 1
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/mini-iharmony4")
    parser.add_argument("--minutes", type=float, default=10.0, help="CPU minutes of training per method")
    parser.add_argument("--every", type=float, default=2.5, help="evaluate every N CPU minutes")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--limit", type=int, default=100, help="test images evaluated")
    parser.add_argument("--methods", nargs="+", default=["plain-unet", "tiny-bare", "tiny-full"])
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    curves = {}
    for method in args.methods:
        print(f"{method}:", flush=True)
        curves[method] = run(method, args.data, args.minutes, args.every, args.size, args.limit)
    final = {m: c[-1]["fmse"] for m, c in curves.items()}
    baseline = final.get("plain-unet")
    verdict = {m: (v <= baseline) for m, v in final.items()} if baseline is not None else {}
    write_results("time_to_quality", {"data": args.data, "minutes": args.minutes, "size": args.size,
                                      "threads": torch.get_num_threads(),
                                      "test_images": args.limit, "curves": curves, "final_fmse": final,
                                      "at_least_as_good_as_plain_unet": verdict})
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for method, points in curves.items():
        ax.plot([p["cpu_minutes"] for p in points], [p["fmse"] for p in points], "o-", label=method)
    ax.axhline(next(iter(curves.values()))[0]["composite_fmse"], color="k", ls="--", lw=1, label="input composite")
    ax.set_xlabel(f"CPU minutes of training (process time, {torch.get_num_threads()} thread(s))")
    ax.set_ylabel("mini test fMSE at 256 px")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("time to quality on a laptop CPU")
    fig.tight_layout()
    save_figure(fig, "bench_time_to_quality.png")


if __name__ == "__main__":
    main()
