"""Pure plotting functions: each returns a matplotlib Figure, so it is tested headless and the
notebooks' widgets are thin layers over it. Masks are drawn as outlines, never filled, so the
composite's colours stay visible."""

from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from hcl.attention import S2AM
from hcl.config import LossConfig
from hcl.contrastive import HCLLoss, crop_patches

OUTLINE = (1.0, 0.85, 0.0)


def image_array(t) -> np.ndarray:
    """3×H×W (or 1×H×W) tensor in [0, 1], or an H×W×3 array → H×W×3 float array for imshow."""
    if isinstance(t, np.ndarray):
        return t
    t = t.detach().float().cpu().clamp(0, 1)
    if t.shape[0] == 1:
        t = t.expand(3, -1, -1)
    return t.permute(1, 2, 0).numpy()


def outlined(image, mask, colour=OUTLINE) -> np.ndarray:
    """The image with the mask's outline drawn (one pixel wide, inside the foreground)."""
    out = image_array(image).copy()
    m = (mask.detach().cpu().numpy() if torch.is_tensor(mask) else np.asarray(mask)) > 0.5
    m = m.reshape(m.shape[-2:])  # H×W from H×W, 1×H×W or 1×1×H×W
    interior = m.copy()
    interior[1:, :] &= m[:-1, :]
    interior[:-1, :] &= m[1:, :]
    interior[:, 1:] &= m[:, :-1]
    interior[:, :-1] &= m[:, 1:]
    out[m & ~interior] = colour
    return out


def difference(a, b, gain: float = 3.0) -> np.ndarray:
    """|a − b| × gain, clipped: where two images differ."""
    return np.clip(np.abs(image_array(a) - image_array(b)) * gain, 0, 1)


def _show(ax, picture, title: str = "", fontsize: int = 9) -> None:
    ax.imshow(image_array(picture))
    ax.set_title(title, fontsize=fontsize)
    ax.set_xticks([])
    ax.set_yticks([])


def triple_figure(item: dict, title: str | None = None) -> Figure:
    """Composite (mask outlined), real image and |composite − real| of one dataset item."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
    _show(axes[0], outlined(item["composite"], item["mask"]), "composite I' (mask outlined)")
    _show(axes[1], item["real"], "real image Ĥ (the target)")
    _show(axes[2], difference(item["composite"], item["real"]), "|I' − Ĥ| × 3")
    fig.suptitle(title or f"{item['subset']}: {item['name']}", fontsize=10)
    fig.tight_layout()
    return fig


def image_grid(rows: list[list], column_titles: list[str], row_titles: list[str] | None = None,
               cell: float = 2.3) -> Figure:
    """A grid of images (3×H×W tensors or H×W×3 arrays) with column titles."""
    fig, axes = plt.subplots(len(rows), len(column_titles), figsize=(cell * len(column_titles), cell * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            _show(axes[r, c], picture, column_titles[c] if r == 0 else "")
            if c == 0 and row_titles:
                axes[r, c].set_ylabel(row_titles[r], fontsize=8)
    fig.tight_layout()
    return fig


OBJECT_COLOURS = [(1.0, 0.85, 0.0), (0.1, 0.9, 1.0), (1.0, 0.3, 0.9), (0.3, 1.0, 0.3), (1.0, 0.45, 0.1)]


def annotation_sheet(photos: list, columns: int = 4, cell: float = 3.0) -> Figure:
    """Every photo with its annotated objects outlined (one colour per object, thickened so the
    outline shows at print size) and named: ``photos`` are objects with ``name``, ``pixels``
    (H×W×3 uint8) and ``outlines`` (each with ``category`` and an H×W bool ``mask``)."""
    from scipy import ndimage

    rows = -(-len(photos) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(cell * columns, cell * 0.75 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, photo in zip(axes.ravel(), photos):
        picture = photo.pixels.astype(np.float64) / 255.0
        width = max(2, round(max(picture.shape[:2]) / 160))
        for i, outline in enumerate(photo.outlines):
            edge = outline.mask & ~ndimage.binary_erosion(outline.mask, iterations=width)
            halo = ndimage.binary_dilation(edge, iterations=max(1, width // 2)) & ~edge
            picture[halo] = 0.0  # a dark rim keeps a light outline visible on a light photo
            picture[edge] = OBJECT_COLOURS[i % len(OBJECT_COLOURS)]
        names = ", ".join(o.category for o in photo.outlines)
        _show(ax, picture, f"{photo.name}: {names}", fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Fig. 1 and Fig. 2, redrawn


def _box(ax, x, y, w, h, text, colour, fontsize=7.5):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", facecolor=colour, edgecolor="0.3", lw=0.8))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, colour="0.35", style="-|>", lw=1.0, ls="-", bend: float = 0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=9, color=colour, lw=lw, linestyle=ls,
                                 connectionstyle=f"arc3,rad={bend}"))


def architecture_diagram(net, image_size: int = 256) -> Figure:
    """The paper's Fig. 1 for ``net``: encoder maps E_j and decoder maps D_j with their shapes at
    ``image_size``, the skips, where S2AM and style fusion sit (each fusion reading D_j and E_j),
    how each stage's output is upsampled into the next, and the output head."""
    with torch.no_grad():
        features = net.features(torch.zeros(1, 3, image_size, image_size), torch.zeros(1, 1, image_size, image_size))
    config = net.config
    levels = len(features["encoder"])
    row = {j: levels - j - 0.5 for j in range(levels)}  # E_j and D_j share a row: same shape
    fig, ax = plt.subplots(figsize=(13.5, 6.0))
    ax.set_xlim(0, 13.5)
    ax.set_ylim(-0.9, levels + 1.1)
    ax.axis("off")
    width, height, ex, dx = 2.2, 0.62, 0.5, 4.6
    _box(ax, ex, levels + 0.4, width, 0.5, f"input I' ⊕ M'  (4×{image_size}×{image_size})", "#eeeeee")
    _arrow(ax, (ex + width / 2, levels + 0.4), (ex + width / 2, row[0] + height))
    for j, e in enumerate(features["encoder"]):
        _box(ax, ex, row[j], width, height, f"E_{j}  {tuple(e.shape[1:])}", "#cfe2f3")
        if j + 1 < levels:
            _arrow(ax, (ex + width / 2, row[j]), (ex + width / 2, row[j + 1] + height))
    # the map each decoder stage upsamples: E_L for the first stage, then the previous stage's output
    below = (ex + width, row[levels - 1] + height / 2)
    for index, d in enumerate(features["decoder"]):
        j = levels - 2 - index
        y, middle = row[j], row[j] + height / 2
        has_s2am = isinstance(net.attention[index], S2AM)  # the model's own placement rule, not a copy of it
        _box(ax, dx, y, width, height, f"D_{j}  {tuple(d.shape[1:])}", "#d9ead3")
        _arrow(ax, below, (dx + width / 2, y), colour="0.45")  # ×2 upsampling into stage j
        skip_end = dx - (1.0 if has_s2am and config.s2am == "original" else 0.0)
        _arrow(ax, (ex + width, middle), (skip_end, middle), colour="#3d85c6", ls="--")
        if has_s2am and config.s2am == "original":  # on the skip, before it joins D_j
            _box(ax, dx - 0.95, y + 0.08, 0.85, 0.46, "S2AM", "#f4cccc", fontsize=7)
            _arrow(ax, (dx - 0.1, middle), (dx, middle), colour="#3d85c6")
        right = top = dx + width
        if has_s2am and config.s2am == "ours":  # on the decoder map
            _box(ax, right + 0.25, y + 0.08, 0.85, 0.46, "S2AM", "#f4cccc", fontsize=7)
            _arrow(ax, (right, middle), (right + 0.25, middle))
            right += 1.1
        if config.fusion != "none":
            _box(ax, right + 0.25, y + 0.08, 1.5, 0.46, f"fusion ({config.fusion})\nD_{j} with E_{j}", "#fff2cc",
                 fontsize=6.5)
            _arrow(ax, (right, middle), (right + 0.25, middle))
            top = right + 1.0
            # E_j's statistics into the fusion (orange, under the decoder map)
            _arrow(ax, (ex + width, y + 0.1), (right + 1.0, y + 0.08), colour="#e69138", ls=":", bend=0.12)
            right += 1.75
        below = (top, y + 0.54) if config.fusion != "none" else (dx + width / 2, y + height)
    head = "colour transform θ\n(boundary fit + MLP)\npred = A·I' + b" if config.head == "transform" else \
        "1×1 conv\npred = I' + Δ"
    _box(ax, 10.8, row[0] - 0.45, 2.5, 1.05, head, "#d9d2e9", fontsize=7)
    _arrow(ax, (right, row[0] + height / 2), (10.8, row[0] + height / 2))
    _box(ax, 10.8, levels + 0.4, 2.5, 0.5, "H = M'·pred + (1−M')·I'", "#eeeeee", fontsize=7)
    _arrow(ax, (12.05, row[0] + 0.6), (12.05, levels + 0.4))
    ax.text(ex, -0.55, "blue dashed: the skip E_j → decoder stage j (same shape); grey: ×2 upsampling of the stage "
            "below; orange dotted: E_j's background statistics into that stage's fusion.", fontsize=7.5, color="0.3")
    ax.text(ex, -0.8, f"S2AM: spatial-separated attention ('{config.s2am}' placement); fusion: Eqs. (1)–(7), "
            f"variant '{config.fusion}'.", fontsize=7.5, color="0.3")
    ax.set_title(f"The generator, {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M parameters, shapes C×H×W "
                 f"at {image_size} px (the paper's Fig. 1, redrawn)", fontsize=10)
    return fig


def contrastive_diagram(item: dict | None = None, factor: int = 4, window: int = 8) -> Figure:
    """The paper's Fig. 2: harmonized foreground → sampling map → K cells → 8×8 crops → shared MLP
    → N_i; ground-truth background → … → P_i; both into InfoNCE (Eqs. 8–11)."""
    fig, ax = plt.subplots(figsize=(12.5, 4.6))
    ax.set_xlim(0, 12.5)
    ax.set_ylim(-0.6, 4.2)
    ax.axis("off")
    rows = [(2.7, "harmonized H·M'", "S_fg = avgpool₄(H·M')", "N_i = MLP(φ(S_fg))  (8)", "#f4cccc"),
            (0.5, "ground truth Ĥ·(1−M')", "S_bg = avgpool₄(Ĥ·(1−M'))", "P_i = MLP(φ(Ĥ_bg))  (9)", "#cfe2f3")]
    for y, source, sampling, embedded, colour in rows:
        _box(ax, 0.2, y, 2.0, 0.9, source, colour)
        _box(ax, 2.7, y, 2.2, 0.9, sampling + f"\n(1 cell = {factor}×{factor} px)", colour, fontsize=7)
        _box(ax, 5.4, y, 1.9, 0.9, f"K cells, {window}×{window}\nwindows: 3·{window}² values", colour, fontsize=7)
        _box(ax, 7.8, y, 2.0, 0.9, embedded, colour, fontsize=7)
        for x0, x1 in ((2.2, 2.7), (4.9, 5.4), (7.3, 7.8)):
            _arrow(ax, (x0, y + 0.45), (x1, y + 0.45))
    _box(ax, 7.9, 1.65, 1.8, 0.7, "shared MLP\n192→256→256, ℓ2", "#eeeeee", fontsize=7)
    _box(ax, 10.3, 1.3, 2.0, 1.4, f"InfoNCE (10)(11)\nτ = {LossConfig.tau}\nmean over i, images (12)", "#fff2cc", fontsize=7.5)
    _arrow(ax, (9.8, 3.15), (10.3, 2.3))
    _arrow(ax, (9.8, 0.95), (10.3, 1.7))
    ax.text(0.2, -0.55, "As drawn: the paper's Eqs. (8)-(11); the paper and tiny presets read Eq. (10) as 'spread' "
            "(query N_i, positive P_i, negatives the other N_k).\nThe demo preset's 'colour' reading departs: the MLP "
            "reads each window's mean colour (3 numbers), the negatives are the input composite's windows at the same "
            "cells,\nand the keys come from an EMA copy of the MLP (notebook 04 compares every reading).",
            fontsize=7.5, color="0.3", va="bottom")
    if item is not None:
        inset = fig.add_axes([0.005, 0.36, 0.11, 0.25])
        _show(inset, outlined(item["composite"], item["mask"]))
    ax.set_title("Region-wise contrastive learning (the paper's Fig. 2, redrawn): negatives from the harmonized "
                 "foreground, positives from the real background", fontsize=10)
    return fig


# ---------------------------------------------------------------------------------------------
# S2AM and style fusion


def s2am_gates(attention, x: torch.Tensor, mask: torch.Tensor, composite: torch.Tensor | None = None) -> Figure:
    """What each S2AM gate does on one feature map (1×C×h×w): the blend weights M_s, the three
    channel gates' weights, and the feature energy before and after."""
    with torch.no_grad():
        smoothed = attention.blend_weights(mask)
        gates = {name.split("_")[0]: torch.sigmoid(_gate_logits(getattr(attention, name), x))[0]
                 for name in ("background_gate", "foreground_gate", "mix_gate")}
        out = attention(x, mask)
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    if composite is not None:
        _show(axes[0], outlined(composite[0], torch.nn.functional.interpolate(mask, composite.shape[-2:])[0]), "composite")
    else:
        axes[0].axis("off")
    axes[1].imshow(smoothed[0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
    axes[1].set_title("M_s: the blurred mask that blends the regions", fontsize=9)
    axes[1].axis("off")
    channels = np.arange(x.shape[1])
    for offset, (name, weights) in enumerate(gates.items()):
        axes[2].bar(channels + 0.28 * (offset - 1), weights.numpy(), width=0.28, label=f"G_{name}")
    axes[2].set_ylim(0, 1)
    axes[2].set_xlabel("channel")
    axes[2].set_title("channel weights of the three gates", fontsize=9)
    axes[2].legend(fontsize=7)
    axes[3].imshow((out - x)[0].abs().mean(0).numpy(), cmap="magma")
    axes[3].set_title("|S2AM(x) − x|, mean over channels", fontsize=9)
    axes[3].axis("off")
    fig.tight_layout()
    return fig


def _gate_logits(gate, x: torch.Tensor) -> torch.Tensor:
    logits = gate.fc(x.mean(dim=(2, 3)))
    if gate.with_max:
        logits = logits + gate.fc(x.amax(dim=(2, 3)))
    return logits


def fusion_statistics(decoder: torch.Tensor, encoder: torch.Tensor, mask: torch.Tensor, fusion,
                      title: str = "") -> Figure:
    """Per channel, the foreground mean of a decoder map against its background mean, before and
    after one fusion module (maps 1×C×h×w, mask 1×1×h×w): points on the diagonal = the foreground
    carries the background's statistics."""
    from hcl.stats import masked_mean_std

    with torch.no_grad():
        fused = fusion(decoder, encoder, mask)
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.8), sharex=False)
    after = "after fusion: D + D̂ (residual form)" if getattr(fusion, "residual", False) else "after fusion: D̂"
    for ax, (name, fmap) in zip(axes, (("before fusion: D", decoder), (after, fused))):
        mu_fg = masked_mean_std(fmap, mask)[0].flatten().numpy()
        mu_bg = masked_mean_std(fmap, 1 - mask)[0].flatten().numpy()
        gap = float(np.abs(mu_fg - mu_bg).mean())
        ax.scatter(mu_bg, mu_fg, s=12)
        low, high = min(mu_bg.min(), mu_fg.min()), max(mu_bg.max(), mu_fg.max())
        ax.plot([low, high], [low, high], "k--", lw=0.8)
        ax.set_xlabel("background mean (per channel)")
        ax.set_ylabel("foreground mean")
        ax.set_title(f"{name}: mean |μ_fg − μ_bg| = {gap:.2f}", fontsize=9)
    fig.suptitle(title, fontsize=10)
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


# ---------------------------------------------------------------------------------------------
# the contrastive loss


def _cells_on(ax, image, cells, factor, colour, window: int = 1):
    """Each sampled cell (a filled square, ``factor`` px) and the window the MLP reads around it
    (``window``×``window`` cells, rows r − window/2 … r + window/2 − 1: :func:`hcl.contrastive.crop_patches`)."""
    ax.imshow(image)
    for row, col in cells.tolist():
        ax.add_patch(Rectangle((col * factor - 0.5, row * factor - 0.5), factor, factor, color=colour, lw=0))
        if window > 1:
            corner = ((col - window // 2) * factor - 0.5, (row - window // 2) * factor - 0.5)
            ax.add_patch(Rectangle(corner, window * factor, window * factor, fill=False, edgecolor=colour, lw=0.8,
                                   alpha=0.7))
    ax.set_xticks([])
    ax.set_yticks([])


def patch_explorer(harmonized: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, k: int = 16, seed: int = 0,
                   factor: int = LossConfig.factor, tau: float = LossConfig.tau, loss: HCLLoss | None = None,
                   composite: torch.Tensor | None = None,
                   alone: dict | None = None) -> Figure:
    """What L_HCL samples and compares for one image (3×H×W, mask 1×H×W) under ``loss``'s reading:
    the negative cells on the harmonized foreground, the positive cells on the real background, the
    query·key similarities the InfoNCE sees, and (``alone``) that reading's L_HCL-alone result."""
    loss = copy.copy(loss) if loss is not None else HCLLoss(k=k, tau=tau, factor=factor)
    loss.k, loss.tau, loss.factor = k, tau, factor  # on a shallow copy: the caller's loss keeps its settings
    composite = harmonized if composite is None else composite
    batch = [t.unsqueeze(0).float() for t in (harmonized, target, mask, composite)]
    with torch.no_grad():
        value, info = loss(*batch[:3], generator=torch.Generator().manual_seed(seed), composite=batch[3])
    n, p = info["negatives"][0], info["positives"][0]
    reading = loss.reading
    if reading == "literal":
        similarity, labels = torch.cat([(p * p).sum(-1, keepdim=True), p @ n.T], dim=1), ("v·P_i = P_i·P_i", "P_i·N_k")
    elif reading == "spread":
        similarity, labels = torch.cat([n @ p.T, n @ n.T], dim=1), ("N_i·P_j", "N_i·N_k")
    else:
        mean_bg = torch.nn.functional.normalize(p.mean(0, keepdim=True), dim=-1)
        keys = info["composite_keys"][0]
        similarity, labels = torch.cat([n @ mean_bg.T, n @ keys.T], dim=1), ("N_i·P̄", "N_i·C_k (composite)")
    columns = 4 if alone is not None else 3
    fig, axes = plt.subplots(1, columns, figsize=(4.3 * columns, 4.2),
                             gridspec_kw={"width_ratios": [1, 1, 1.5] + ([1] if alone is not None else [])})
    span = loss.window * factor
    _cells_on(axes[0], image_array(harmonized * mask), info["negative_cells"][0], factor, "red", loss.window)
    axes[0].set_title(f"H·M': {k} negative cells, {span}×{span} px windows (what the MLP reads)", fontsize=8)
    _cells_on(axes[1], image_array(target * (1 - mask)), info["positive_cells"][0], factor, "cyan", loss.window)
    axes[1].set_title(f"Ĥ·(1−M'): {k} positive cells, {span}×{span} px windows", fontsize=8)
    shown = axes[2].imshow((similarity / tau).numpy(), cmap="coolwarm", vmin=-1 / tau, vmax=1 / tau, aspect="auto")
    split = similarity.shape[1] - n.shape[0] - 0.5
    axes[2].axvline(split, color="k", lw=1)
    axes[2].set_title(f"logits /τ: positive ({labels[0]}) | negatives ({labels[1]})", fontsize=8)
    axes[2].set_ylabel("query i")
    fig.colorbar(shown, ax=axes[2], fraction=0.04)
    if alone is not None:
        _show(axes[3], outlined(alone["image"], mask),
              f"L_HCL alone, {len(alone['history'])} steps:\ntexture ×{alone['texture_after'] / max(alone['texture_before'], 1e-6):.2f}, "
              f"fMSE {alone['fmse_before']:.0f}→{alone['fmse_after']:.0f}")
    fig.suptitle(f"reading '{reading}': L_HCL = {float(value):.3f}  (K = {k}, factor = {factor}, τ = {tau}; "
                 f"{int(info['foreground_cells'][0])} fg / {int(info['background_cells'][0])} bg cells)", fontsize=10)
    fig.tight_layout()
    return fig


def texture_comparison(results: dict, composite, target, mask) -> Figure:
    """L_HCL alone under each reading (``results[reading]`` from :func:`hcl.contrastive_alone.hcl_alone`):
    the image after, its foreground texture against the composite's, and its foreground error."""
    fig, axes = plt.subplots(1, len(results) + 2, figsize=(2.9 * (len(results) + 2), 3.5))
    _show(axes[0], outlined(composite, mask), "composite (start)")
    _show(axes[1], outlined(target, mask), "real image (target)")
    for ax, (reading, result) in zip(axes[2:], results.items()):
        ratio = result["texture_after"] / max(result["texture_before"], 1e-6)
        _show(ax, outlined(result["image"], mask),
              f"'{reading}': texture ×{ratio:.2f}\nfMSE {result['fmse_before']:.0f}→{result['fmse_after']:.0f}", 8.5)
    fig.suptitle("L_HCL alone, optimized on the pixels (and the MLP) — nothing else pulls", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.9))  # room for the suptitle above the two-line panel titles
    return fig


# ---------------------------------------------------------------------------------------------
# training and evaluation


def loss_curves(log: dict[str, np.ndarray], title: str = "training", start: dict | None = None,
                k: int | None = None) -> Figure:
    """The terms of Eq. (13), each term's share of the gradient at the output, and validation fMSE
    with the composite's level (and, given ``start``, the untrained network's) drawn on it.

    L_HCL is drawn with its chance value ln(n), n the candidates each query ranks (K+1, or K for the
    'spread' reading; from the log's ``hcl_chance``, or ``k`` for logs written before it existed) and, on a
    second axis, its top-1 accuracy against chance 1/n."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.6))
    steps = log["step"]
    for name, colour in (("l1", "C0"), ("pixel", "C1")):
        axes[0].plot(steps, log[name], color=colour, alpha=0.35, lw=0.8)
        axes[0].plot(steps, _smooth(log[name]), color=colour, label=f"{name} (smoothed)")
    axes[0].set_title("L1 and L_pixel (training batches)")
    axes[0].legend(fontsize=8)
    axes[1].plot(steps, log["hcl"], color="C3", alpha=0.35, lw=0.8)
    axes[1].plot(steps, _smooth(log["hcl"]), color="C3", label="L_HCL (smoothed)")
    chance = log.get("hcl_chance")
    candidates = 1.0 / np.nanmean(chance) if chance is not None and np.isfinite(chance).any() else (k + 1 if k else None)
    if candidates:
        axes[1].axhline(np.log(candidates), color="k", ls="--", lw=1, label=f"chance: ln {candidates:.0f} = {np.log(candidates):.2f}")
    accuracy = log.get("hcl_accuracy")
    if accuracy is not None and np.isfinite(accuracy).any():
        twin = axes[1].twinx()
        logged = np.isfinite(accuracy)  # NaN: no image of that batch had both regions
        twin.plot(steps[logged], _smooth(accuracy[logged]), color="C5", label="top-1 accuracy (smoothed)")
        twin.axhline(1.0 / candidates, color="C5", ls=":", lw=1, label=f"accuracy by chance: 1/{candidates:.0f}")
        twin.set_ylim(0, max(0.05, 1.2 * float(np.nanmax(accuracy))))
        twin.set_ylabel("top-1 accuracy", fontsize=8)
        twin.legend(fontsize=7, loc="lower right")
    axes[1].legend(fontsize=7, loc="upper right")
    axes[1].set_title("L_HCL and its chance level")
    measured = ~np.isnan(log.get("share_l1", np.full_like(steps, np.nan)))
    if measured.any():
        bottom = np.zeros(measured.sum())
        for name, colour in (("l1", "C0"), ("pixel", "C1"), ("hcl", "C3")):
            share = log[f"share_{name}"][measured]
            axes[2].fill_between(steps[measured], bottom, bottom + share, color=colour, alpha=0.6, label=f"λ·{name}")
            bottom = bottom + share
        axes[2].set_ylim(0, 1)
        axes[2].legend(fontsize=8, loc="lower right")
    axes[2].set_title("share of ‖∂L/∂H‖ at the output")
    validated = ~np.isnan(log["val_fmse"])
    axes[3].plot(steps[validated], log["val_fmse"][validated], "o-", color="C4", label="model")
    if validated.any():
        axes[3].axhline(np.nanmean(log["val_composite_fmse"]), color="k", ls="--", lw=1, label="input composite")
    if start is not None:
        axes[3].axhline(start["fmse"], color="C2", ls=":", lw=1.2, label="untrained network (step 0)")
    axes[3].set_ylim(bottom=0)
    axes[3].legend(fontsize=8)
    axes[3].set_title("validation fMSE at 256 px (lower is better)")
    for ax in axes:
        ax.set_xlabel("step")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def validation_curves(curves: dict, metrics=(("val_psnr", "PSNR (dB), higher is better"),
                                             ("val_mse", "MSE, lower is better")), title: str = "") -> Figure:
    """The paper's Figs. 8–9 layout: one panel per metric, validation score against training step, one
    colour per row (``curves[row][seed]`` from :func:`hcl.ablation.validation_curves`): thin lines per
    seed, the thick line their mean; the composite's level dashed where known."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(6.2 * len(metrics), 3.8))
    composite = curves.get("composite") or {}
    for ax, (metric, label) in zip(np.atleast_1d(axes), metrics):
        for index, (row, seeds) in enumerate((r, s) for r, s in curves.items() if r != "composite"):
            colour = f"C{index}"
            for run in seeds.values():
                ax.plot(run["step"], run[metric], color=colour, alpha=0.35, lw=0.8)
            steps = next(iter(seeds.values()))["step"]
            mean = np.mean([run[metric] for run in seeds.values()], axis=0)
            ax.plot(steps, mean, color=colour, lw=2, marker="o", ms=3, label=f"{row} (mean of {len(seeds)})")
        level = composite.get(metric.removeprefix("val_"))
        if level is not None:
            ax.axhline(level, color="k", ls="--", lw=1, label="input composite")
        ax.set_xlabel("training step")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _smooth(values: np.ndarray, window: int = 10) -> np.ndarray:
    """Trailing moving average; the first ``window - 1`` points average the values logged so far (not
    copies of the first one, which would let a single noisy first batch bend the curve's start)."""
    finite = np.where(np.isnan(values), np.nanmean(values) if np.isfinite(values).any() else 0, values)
    window = max(1, min(window, len(finite)))
    totals = np.cumsum(np.concatenate([[0.0], finite]))
    counts = np.minimum(np.arange(1, len(finite) + 1), window)
    return (totals[1:] - totals[np.arange(1, len(finite) + 1) - counts]) / counts


def bar_comparison(values: dict[str, dict[str, float]], metric: str, title: str = "", errors=None,
                   reference: float | None = None, reference_label: str = "input composite") -> Figure:
    """Grouped bars: ``values[group][series]``, optional error bars and a reference line."""
    groups = list(values)
    series = list(next(iter(values.values())))
    fig, ax = plt.subplots(figsize=(1.5 * len(groups) + 2.5, 3.6))
    width = 0.8 / len(series)
    for i, name in enumerate(series):
        heights = [values[g][name] for g in groups]
        err = [errors[g][name] for g in groups] if errors else None
        ax.bar(np.arange(len(groups)) + i * width, heights, width, label=name, yerr=err, capsize=3)
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1, label=reference_label)
    ax.set_xticks(np.arange(len(groups)) + width * (len(series) - 1) / 2, groups, fontsize=8, rotation=15)
    ax.set_ylabel(metric)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def result_browser(preview: dict, index: int = 0, title: str = "") -> Figure:
    """One test image of one run: composite (mask outlined), output, target and |output − target|.
    ``preview``: arrays ``composite``, ``output``, ``target`` (N×H×W×3 uint8), ``mask`` (N×H×W)."""
    i = index % len(preview["composite"])
    composite, output, target = (preview[k][i].astype(np.float64) / 255 for k in ("composite", "output", "target"))
    mask = preview["mask"][i]
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    _show(axes[0], outlined(composite, mask[None]), "composite (mask outlined)")
    _show(axes[1], output, "output")
    _show(axes[2], target, "target")
    _show(axes[3], difference(output, target), "|output − target| × 3")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def ab_figure(first, second, mask, revealed: tuple[str, str] | None = None, title: str = "") -> Figure:
    """Two versions of one composite side by side, labelled A and B; ``revealed`` names them. The
    pictures are shown as they are (a user study shows no mask); the mask's outline appears once revealed."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
    for ax, picture, label, name in zip(axes, (first, second), ("A", "B"), revealed or (None, None)):
        _show(ax, outlined(picture, mask) if revealed else picture, f"{label}" + (f": {name}" if name else ""), 11)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
