"""Pure plotting functions: each returns a matplotlib Figure, so it is tested headless and the
notebooks' ipywidgets are thin layers over it."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from hcl.contrastive import HCLLoss, crop_patches


def _image(t: torch.Tensor) -> np.ndarray:
    """3×H×W (or 1×H×W) tensor in [0, 1] → H×W×3 float array for imshow."""
    t = t.detach().float().cpu().clamp(0, 1)
    if t.shape[0] == 1:
        t = t.expand(3, -1, -1)
    return t.permute(1, 2, 0).numpy()


def mask_overlay(image: torch.Tensor, mask: torch.Tensor, colour=(0.1, 0.9, 0.2), alpha: float = 0.45) -> np.ndarray:
    """The image with the foreground tinted and its outline drawn."""
    out = _image(image).copy()
    m = mask[0].detach().cpu().numpy() > 0.5
    out[m] = (1 - alpha) * out[m] + alpha * np.asarray(colour)
    edge = m ^ np.roll(m, 1, 0) | m ^ np.roll(m, 1, 1)
    out[edge] = colour
    return out


def triple_figure(item: dict, title: str | None = None) -> Figure:
    """Composite, mask overlay and real image of one dataset item."""
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    panels = [("composite", _image(item["composite"])), ("mask overlay", mask_overlay(item["composite"], item["mask"])),
              ("real (target)", _image(item["real"])),
              ("|composite − real|", _image((item["composite"] - item["real"]).abs().mul(3)))]
    for ax, (name, picture) in zip(axes, panels):
        ax.imshow(picture)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title or f"{item['subset']}: {item['name']}", fontsize=10)
    fig.tight_layout()
    return fig


def image_grid(rows: list[list[torch.Tensor]], column_titles: list[str], row_titles: list[str] | None = None,
               cell: float = 2.2) -> Figure:
    """A grid of images (each 3×H×W in [0, 1]) with column titles, e.g. composite | ours | target."""
    fig, axes = plt.subplots(len(rows), len(column_titles), figsize=(cell * len(column_titles), cell * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            axes[r, c].imshow(picture if isinstance(picture, np.ndarray) else _image(picture))
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(column_titles[c], fontsize=9)
            if c == 0 and row_titles:
                axes[r, c].set_ylabel(row_titles[r], fontsize=8)
    fig.tight_layout()
    return fig


def _cells_on(ax, image, cells, factor, colour):
    ax.imshow(image)
    for row, col in cells.tolist():
        ax.add_patch(Rectangle((col * factor - 0.5, row * factor - 0.5), factor, factor, fill=False, edgecolor=colour, lw=1))
    ax.axis("off")


def _patch_grid(patches: torch.Tensor, channels: int = 3, window: int = 8, columns: int = 8) -> np.ndarray:
    """K×(C·w·w) flattened patches → one mosaic image (each patch rescaled to its own range)."""
    k = patches.shape[0]
    rows = int(np.ceil(k / columns))
    mosaic = np.ones((rows * (window + 1), columns * (window + 1), 3))
    for i, patch in enumerate(patches.view(k, channels, window, window)):
        p = patch.detach().cpu().permute(1, 2, 0).numpy()
        p = (p - p.min()) / (p.max() - p.min() + 1e-8)
        r, c = divmod(i, columns)
        mosaic[r * (window + 1): r * (window + 1) + window, c * (window + 1): c * (window + 1) + window] = p
    return mosaic


def patch_explorer(harmonized: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, k: int = 16, seed: int = 0,
                   factor: int = 4, tau: float = 0.07, loss: HCLLoss | None = None) -> Figure:
    """What L_HCL samples for one image (3×H×W, mask 1×H×W): negative cells on the harmonized
    foreground, positive cells on the ground-truth background, the cropped 8×8 patches of the
    sampling maps, and the N·P / N·N similarity matrix of their embeddings."""
    loss = loss or HCLLoss(k=k, tau=tau, factor=factor)
    loss.k, loss.tau, loss.factor = k, tau, factor
    batch = [t.unsqueeze(0).float() for t in (harmonized, target, mask)]
    with torch.no_grad():
        value, info = loss(*batch, generator=torch.Generator().manual_seed(seed))
        fg_map, bg_map = loss.sampling_maps(*batch)
        negatives_raw = crop_patches(fg_map, info["negative_cells"], loss.window)[0]
        positives_raw = crop_patches(bg_map, info["positive_cells"], loss.window)[0]
    n, p = info["negatives"][0], info["positives"][0]
    similarity = torch.cat([n @ p.T, n @ n.T], dim=1).numpy()

    fig = plt.figure(figsize=(14, 6.8))
    grid = fig.add_gridspec(2, 4, height_ratios=[1.2, 1])
    ax = fig.add_subplot(grid[0, 0])
    _cells_on(ax, _image(harmonized * mask), info["negative_cells"][0], factor, "red")
    ax.set_title(f"H·M': {k} negative cells (red)", fontsize=9)
    ax = fig.add_subplot(grid[0, 1])
    _cells_on(ax, _image(target * (1 - mask)), info["positive_cells"][0], factor, "cyan")
    ax.set_title(f"Ĥ·(1−M'): {k} positive cells (cyan)", fontsize=9)
    ax = fig.add_subplot(grid[0, 2:])
    shown = ax.imshow(similarity, cmap="coolwarm", vmin=-1, vmax=1)
    ax.axvline(k - 0.5, color="k", lw=1)
    ax.set_title("cosine similarity: left N_i·P_j (diagonal = positive pairs), right N_i·N_k", fontsize=9)
    ax.set_ylabel("negative i")
    fig.colorbar(shown, ax=ax, fraction=0.03)
    ax = fig.add_subplot(grid[1, :2])
    ax.imshow(_patch_grid(negatives_raw[: min(k, 32)]))
    ax.set_title("negative patches (8×8 windows of S_fg)", fontsize=9)
    ax.axis("off")
    ax = fig.add_subplot(grid[1, 2:])
    ax.imshow(_patch_grid(positives_raw[: min(k, 32)]))
    ax.set_title("positive patches (8×8 windows of S_bg)", fontsize=9)
    ax.axis("off")
    fig.suptitle(f"L_HCL = {float(value):.3f}  (K = {k}, factor = {factor}, τ = {tau}, "
                 f"{int(info['foreground_cells'][0])} fg / {int(info['background_cells'][0])} bg cells available)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def feature_maps(maps: list[torch.Tensor], mask: torch.Tensor, titles: list[str], channels: int = 4,
                 background_only: bool = True) -> Figure:
    """Rows of feature-map channels (each map 1×C×h×w), background only as in the paper's Fig. 10."""
    fig, axes = plt.subplots(len(maps), channels, figsize=(2.2 * channels, 2.2 * len(maps)), squeeze=False)
    for r, (fmap, title) in enumerate(zip(maps, titles)):
        fmap = fmap[0].detach().float().cpu()
        m = torch.nn.functional.adaptive_avg_pool2d(mask[:1].float().cpu(), fmap.shape[-2:])[0, 0]
        for c in range(channels):
            picture = fmap[c] * (1 - m) if background_only else fmap[c]
            axes[r, c].imshow(picture.numpy(), cmap="viridis")
            axes[r, c].axis("off")
            axes[r, c].set_title(f"{title} ch {c}", fontsize=8)
    fig.tight_layout()
    return fig


def read_log(path: str | Path) -> dict[str, np.ndarray]:
    """A training run's ``log.csv`` as columns (empty cells → NaN)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.array([float(r[key]) if r[key] not in ("", None) else np.nan for r in rows]) for key in rows[0]}


def loss_curves(log: dict[str, np.ndarray], title: str = "training") -> Figure:
    """Every loss term against the step, and the validation PSNR / fMSE where logged."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for name in ("total", "l1", "pixel"):
        axes[0].plot(log["step"], log[name], label=name)
    axes[0].set_yscale("log")
    axes[0].legend()
    axes[0].set_title("loss terms")
    axes[1].plot(log["step"], log["hcl"], color="C3")
    axes[1].set_title("L_HCL")
    validated = ~np.isnan(log["val_psnr"])
    axes[2].plot(log["step"][validated], log["val_fmse"][validated], "o-", color="C4")
    axes[2].set_title("validation fMSE (lower is better)")
    for ax in axes:
        ax.set_xlabel("step")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def bar_comparison(values: dict[str, dict[str, float]], metric: str, title: str = "", errors=None) -> Figure:
    """Grouped bars: ``values[group][series]`` (e.g. subset → composite/model)."""
    groups = list(values)
    series = list(next(iter(values.values())))
    fig, ax = plt.subplots(figsize=(1.6 * len(groups) + 2, 3.4))
    width = 0.8 / len(series)
    for i, name in enumerate(series):
        heights = [values[g][name] for g in groups]
        err = [errors[g][name] for g in groups] if errors else None
        ax.bar(np.arange(len(groups)) + i * width, heights, width, label=name, yerr=err, capsize=3)
    ax.set_xticks(np.arange(len(groups)) + width * (len(series) - 1) / 2, groups)
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
