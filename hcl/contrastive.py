"""Region-wise contrastive learning (section III-B, Eqs. 8–12; Fig. 2). Our reading: DESIGN §4.

``H`` harmonized output, ``Ĥ`` ground truth, ``M'`` mask, all B×·×256×256.

1. Sampling maps (factor 4): ``S_fg = avgpool4(H·M')`` and ``S_bg = avgpool4(Ĥ·(1 − M'))``, 64×64,
   each cell a 4×4 block of the image. A cell is foreground where ``avgpool4(M') ≥ 0.5``,
   background where ``avgpool4(1 − M') ≥ 0.5``.
2. Draw K cells per region and image (with replacement only when fewer than K exist).
3. Crop the 8×8 window of the sampling map around each cell (zero padding), flatten (3·8·8 = 192),
   embed with one shared MLP, L2-normalize: negatives N (from S_fg, Eq. 8), positives P (from
   S_bg, Eq. 9).
4. (10)(11) with query N_i: ``L_i = −log e^{N_i·P_i/τ} / (e^{N_i·P_i/τ} + Σ_{k≠i} e^{N_i·N_k/τ})``,
   mean over i; (12) mean over images. An image with no foreground or no background cell
   contributes 0.

Everything is vectorized over the batch and K: no Python loop over patches or images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def region_cell_map(region: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """B×1×H×W region weights → B×(H/factor)×(W/factor) bool: the cells that belong to the region."""
    return F.avg_pool2d(region.float(), factor)[:, 0] >= 0.5


def sample_region_cells(region: torch.Tensor, k: int, generator: torch.Generator | None = None, factor: int = 4):
    """Draw ``k`` cells of a region per image.

    region: B×1×H×W (the mask for the foreground, ``1 − mask`` for the background).
    Returns ``(cells, valid)``: cells, a LongTensor B×K×2 of (row, col) on the
    H/factor × W/factor sampling map, drawn among cells where ``avgpool(region, factor) ≥ 0.5``
    — without replacement when at least K exist, with replacement otherwise; valid, a BoolTensor
    (B,), False where the region has no such cell (those rows of ``cells`` are meaningless).
    """
    available = region_cell_map(region, factor)
    batch, height, width = available.shape
    available = available.flatten(1)
    count = available.sum(1)
    draw_device = generator.device if generator is not None else torch.device("cpu")
    available_draw = available.to(draw_device)

    # without replacement: the k largest random keys among the available cells
    keys = torch.rand(batch, height * width, generator=generator, device=draw_device)
    keys = torch.where(available_draw, keys, torch.full_like(keys, -1.0))
    distinct = keys.topk(min(k, height * width), dim=1).indices
    # with replacement (fewer than k cells): uniform over the available cells; any cell if none
    weights = torch.where(available_draw.any(1, keepdim=True), available_draw.float(), torch.ones_like(keys))
    repeated = torch.multinomial(weights, k, replacement=True, generator=generator)
    if distinct.shape[1] < k:  # k exceeds the map: never enough distinct cells
        distinct = repeated
    index = torch.where((count.to(draw_device) >= k)[:, None], distinct, repeated).to(region.device)
    cells = torch.stack([index // width, index % width], dim=-1)
    return cells, count > 0


def crop_patches(sampling_map: torch.Tensor, cells: torch.Tensor, window: int = 8) -> torch.Tensor:
    """The ``window``×``window`` patch of ``sampling_map`` (B×C×h×w) around each cell (rows
    r − window/2 … r + window/2 − 1), zero-padded at borders, flattened: B×K×(C·window²)."""
    before, after = window // 2, window - 1 - window // 2
    padded = F.pad(sampling_map, (before, after, before, after))
    offsets = torch.arange(window, device=cells.device)
    rows = cells[..., 0, None] + offsets  # B×K×window, in padded coordinates
    cols = cells[..., 1, None] + offsets
    batch = torch.arange(cells.shape[0], device=cells.device)[:, None, None, None]
    patches = padded[batch, :, rows[:, :, :, None], cols[:, :, None, :]]  # B×K×window×window×C
    return patches.permute(0, 1, 4, 2, 3).flatten(2)


class PatchEmbedding(nn.Module):
    """The shared two-layer MLP of Fig. 2 (as in CUT): ``Linear(192, 256)–ReLU–Linear(256, 256)``,
    outputs L2-normalized. B×K×192 → B×K×256."""

    def __init__(self, in_features: int = 192, hidden: int = 256, out_features: int = 256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_features))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.mlp(patches), dim=-1)


def region_infonce(negatives: torch.Tensor, positives: torch.Tensor, tau: float = 0.07) -> torch.Tensor:
    """Eqs. (10)(11) per image: B×K×D L2-normalized N and P → loss (B,).

    ``L_i = −log( e^{N_i·P_i/τ} / (e^{N_i·P_i/τ} + Σ_{k≠i} e^{N_i·N_k/τ}) )``, mean over i.
    """
    positive_logits = (negatives * positives).sum(-1) / tau  # B×K: N_i·P_i/τ
    negative_logits = negatives @ negatives.transpose(1, 2) / tau  # B×K×K: N_i·N_k/τ
    k = negatives.shape[1]
    self_pairs = torch.eye(k, dtype=torch.bool, device=negatives.device)
    negative_logits = negative_logits.masked_fill(self_pairs, float("-inf"))  # k ≠ i
    logits = torch.cat([positive_logits[..., None], negative_logits], dim=-1)
    return (torch.logsumexp(logits, dim=-1) - positive_logits).mean(dim=1)


class HCLLoss(nn.Module):
    """L_HCL (Eq. 12): region-wise InfoNCE between harmonized foreground patches (negatives) and
    ground-truth background patches (positives). Gradients reach ``harmonized`` and the MLP,
    never ``target``.

    ``forward(harmonized, target, mask, generator=None)`` → ``(loss, diagnostics)`` where
    diagnostics holds ``per_image`` (B,), ``foreground_cells`` and ``background_cells`` (B,):
    cells available per region, and ``empty_images``: images that contributed 0 (no cell in a region).
    """

    def __init__(self, k: int = 256, tau: float = 0.07, factor: int = 4, window: int = 8, channels: int = 3,
                 embed_dim: int = 256):
        super().__init__()
        self.k, self.tau, self.factor, self.window = k, tau, factor, window
        self.embed = PatchEmbedding(channels * window * window, embed_dim, embed_dim)

    def sampling_maps(self, harmonized, target, mask):
        """``(S_fg, S_bg)`` of section III-B1: avgpool(H·M') and avgpool(Ĥ·(1 − M'))."""
        return (F.avg_pool2d(harmonized * mask, self.factor),
                F.avg_pool2d(target.detach() * (1 - mask), self.factor))

    def forward(self, harmonized: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                generator: torch.Generator | None = None):
        foreground_map, background_map = self.sampling_maps(harmonized, target, mask)
        negative_cells, has_foreground = sample_region_cells(mask, self.k, generator, self.factor)
        positive_cells, has_background = sample_region_cells(1 - mask, self.k, generator, self.factor)
        negatives = self.embed(crop_patches(foreground_map, negative_cells, self.window))  # (8)
        positives = self.embed(crop_patches(background_map, positive_cells, self.window))  # (9)
        contributes = has_foreground & has_background
        per_image = region_infonce(negatives, positives, self.tau) * contributes
        diagnostics = {
            "per_image": per_image.detach(),
            "foreground_cells": region_cell_map(mask, self.factor).flatten(1).sum(1),
            "background_cells": region_cell_map(1 - mask, self.factor).flatten(1).sum(1),
            "empty_images": (~contributes).nonzero().flatten(),
            "negatives": negatives.detach(),
            "positives": positives.detach(),
            "negative_cells": negative_cells,
            "positive_cells": positive_cells,
        }
        return per_image.mean(), diagnostics  # (12): mean over images
