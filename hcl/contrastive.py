r"""Region-wise contrastive learning (section III-B, Eqs. 8–12; Fig. 2).

``H`` harmonized output, ``Ĥ`` ground truth, ``I'`` composite, ``M'`` mask, all B×·×H×W.

1. Sampling maps (factor 4): ``S_fg = avgpool4(H·M')``, ``S_bg = avgpool4(Ĥ·(1 − M'))``, each cell a
   4×4 block of the image. A cell is foreground where ``avgpool4(M') ≥ 0.5``, background where
   ``avgpool4(1 − M') ≥ 0.5``.
2. Draw K cells per region and image (with replacement only when fewer than K exist).
3. Crop the 8×8 window of the sampling map around each cell (zero padding), flatten (3·8·8 = 192),
   embed with one shared MLP, L2-normalize: N_i from S_fg (Eq. 8), P_i from S_bg (Eq. 9).
4. Eqs. (10)–(11), as printed::

       L_i = −log  exp(v^bg·P_i/τ) / ( exp(v^bg·P_i/τ) + Σ_{k=1..K} exp(v^fg·N_k/τ) )

   and (12) the mean over images. What the queries v^bg and v^fg are, the paper does not say. The
   readings (``reading=``, one name each; every one vectorized over batch and K):

   ``literal``
       As printed, with the background query v^bg = v^fg = P_i (the real background patch itself, which
       equals the harmonized one where the background is kept): ``−log e^{1/τ} / (e^{1/τ} + Σ_k
       e^{P_i·N_k/τ})``. Its only image gradient pushes every harmonized foreground patch *away* from
       the background — against the paper's words ("bring together"). The positive's logit is 1/τ,
       the largest a cosine allows, so its top-1 accuracy is 1 from the first step and says nothing;
       its loss falls from ln(K+1) (every embedding equal) to ~0.01 once the MLP separates the two
       regions' windows, which it does within tens of steps, on its own.
   ``spread`` (the ``paper`` and ``tiny`` presets, chosen over ``literal`` on validation)
       Query N_i, positive P_i, negatives the other foreground patches N_k (k ≠ i). P_i is a random
       background cell unrelated to N_i, and pushing N_i from the other N_k is a uniformity term the
       image satisfies by adding texture. The MLP can still rank P_i first without knowing which
       background window it is: map every background window near one direction and spread the
       foreground windows on a cap around it, and *any* background window scores above the other
       foreground ones. That asks the MLP to tell the regions' windows apart and the foreground's
       from each other, which raw windows make slow: their brightness, shifted at random by colour
       jitter and by the composite's colour change, dominates the 192 values. Standardizing each
       window first (``patch_norm``, the default) makes the positive rank first 1.5–2× as often (the MLP
       alone on ``tiny``'s training crops: ``tools/hcl_mlp_alone.py``). The regions' windows differ by
       content (an object against its surroundings) or by colour (the composite's change). On a region that
       cuts through a surface, once the output is harmonized, they do not differ at all, and chance is the
       right answer: the MLP alone, given the real image, ranks the positive first 6–7 % of the time on object
       outlines but 2.1–2.2 % on generated regions (chance 1.6 %; ``--by-set``). That is why ``spread``
       stays at chance in ``demo``'s recipe, whose set is three-quarters generated regions and whose head
       is near the real image from its start.
   ``composite-negatives``
       "The harmonization model would rather choose to generate background styles than foreground
       styles": query N_i; positive the mean background embedding P̄ = normalize(mean_i P_i);
       negatives the *input composite's* foreground patches C_k at the same K cells (its
       foreground style, which the output should leave). Keys (P̄ and C_k) come from an EMA copy of
       the MLP without gradient (MoCo's momentum encoder): with a jointly trained MLP the loss
       collapses at step 0, where the output is the composite.
   ``style``
       The roles of ``composite-negatives``, but each 8×8 window is embedded from its colour moments
       (per-channel mean and std over the region's pixels in the window) instead of its raw pixels.
   ``colour`` (ours)
       The roles of ``composite-negatives``, each window embedded from its per-channel mean colour
       only. The paper contrasts "style information" because "contrasting pixel-to-pixel information
       is impractical"; in harmonization the style that differs between a composite's regions is
       colour and tone. Raw windows, and the std of ``style``, can be moved by adding texture; a
       window's mean colour cannot (notebook 04 measures each reading's texture).

The loss's gradient reaches the harmonized foreground and the MLP, never the target, the composite
or the harmonized background. An image with no foreground or no background cell contributes 0.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from hcl.config import DEFAULT_READING, PATCH_NORMS, READINGS, LossConfig
from hcl.errors import UserInputError

NEEDS_COMPOSITE = ("composite-negatives", "style", "colour")
MOMENT_READINGS = ("style", "colour")


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


def colour_moments(patches: torch.Tensor, weights: torch.Tensor, channels: int = 3, eps: float = 1e-6,
                   with_std: bool = True) -> torch.Tensor:
    """Per-channel mean and std of each window over its region pixels: B×K×(C·w²) patches and
    B×K×w² weights (the region's share of each cell) → B×K×2C ``[means, stds]`` (B×K×C means
    only without ``with_std``).

    The sampling map is the region-masked image pooled, ``avgpool(x·m)``; dividing by the pooled
    mask recovers the region's own colour in each cell, so the zeros outside the region do not
    count."""
    batch, k, _ = patches.shape
    values = patches.view(batch, k, channels, -1)
    w = weights.view(batch, k, 1, -1)
    colour = values / w.clamp_min(eps)  # the region's mean colour in each cell
    total = w.sum(-1).clamp_min(eps)
    mean = (w * colour).sum(-1) / total
    if not with_std:
        return mean
    std = ((w * (colour - mean[..., None]) ** 2).sum(-1) / total + eps).sqrt()
    return torch.cat([mean, std], dim=-1)


# windows flatter than ~5/255 (std) are not blown up into noise by the standardization
PATCH_NORM_EPS = (5 / 255) ** 2


def standardize_windows(patches: torch.Tensor, eps: float = PATCH_NORM_EPS) -> torch.Tensor:
    """Each flattened window minus its mean, over ``sqrt(its variance + eps)`` (a layer norm without gain)."""
    return F.layer_norm(patches, patches.shape[-1:], eps=eps)


class PatchEmbedding(nn.Module):
    """The shared two-layer MLP of Fig. 2 (as in CUT): ``Linear(192, 256)–ReLU–Linear(256, 256)``,
    outputs L2-normalized. B×K×in → B×K×256.

    ``standardize``: each window is first standardized over its own values (:func:`standardize_windows`).
    The paper does not describe its MLP. Raw windows are dominated by their brightness, which colour
    jitter and the composite's colour change shift at random; standardized, the MLP sees their structure
    and colour balance, and the ``spread`` reading leaves chance within a few hundred steps (the MLP alone on
    ``tiny``'s training crops, 500 steps: the positive ranked first for 7.1–7.8 % of queries against 3.6–5.1 % raw,
    chance 1.6 %; ``tools/hcl_mlp_alone.py``)."""

    def __init__(self, in_features: int = 192, hidden: int = 256, out_features: int = 256, standardize: bool = False):
        super().__init__()
        self.standardize = standardize
        self.mlp = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_features))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        if self.standardize:
            patches = standardize_windows(patches)
        return F.normalize(self.mlp(patches), dim=-1)


def infonce_logits(query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, tau: float,
                   exclude_self: bool = False) -> torch.Tensor:
    """The logits of Eq. (10)'s softmax, B×K×(1+K): column 0 is ``q_i·p_i/τ``, the others ``q_i·n_k/τ``.

    query B×K×D; positive B×K×D (or B×1×D, one positive for every query); negatives B×K×D.
    ``exclude_self`` sets the k = i column to −inf (when the negatives are the queries themselves)."""
    positive_logits = (query * positive).sum(-1) / tau  # B×K
    negative_logits = query @ negatives.transpose(1, 2) / tau  # B×K×K: q_i·n_k/τ
    if exclude_self:
        k = query.shape[1]
        self_pairs = torch.eye(k, dtype=torch.bool, device=query.device)
        negative_logits = negative_logits.masked_fill(self_pairs, float("-inf"))
    return torch.cat([positive_logits[..., None], negative_logits], dim=-1)


def infonce_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Mean over i of ``−log softmax(logits_i)[0]`` per image: (B,)."""
    return (torch.logsumexp(logits, dim=-1) - logits[..., 0]).mean(dim=1)


def top1_accuracy(logits: torch.Tensor) -> torch.Tensor:
    """Share of queries whose positive scores strictly above every negative, per image: (B,).

    Strictly: a collapsed embedding (every logit equal) scores 0, not 1. Chance is 1/(number of
    candidates): 1/(K+1), or 1/K when a query's own column is excluded."""
    return (logits[..., 0] > logits[..., 1:].max(dim=-1).values).float().mean(dim=1)


def infonce(query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, tau: float,
            exclude_self: bool = False) -> torch.Tensor:
    """Mean over i of ``−log e^{q_i·p_i/τ} / (e^{q_i·p_i/τ} + Σ_k e^{q_i·n_k/τ})`` per image: (B,).

    query B×K×D; positive B×K×D (or B×1×D, one positive for every query); negatives B×K×D.
    ``exclude_self`` drops the k = i term (when the negatives are the queries themselves)."""
    return infonce_from_logits(infonce_logits(query, positive, negatives, tau, exclude_self))


def region_infonce(negatives: torch.Tensor, positives: torch.Tensor, tau: float = LossConfig.tau) -> torch.Tensor:
    """The ``spread`` reading of Eqs. (10)(11): query N_i, positive P_i, negatives N_k (k ≠ i): (B,)."""
    return infonce(negatives, positives, negatives, tau, exclude_self=True)


class HCLLoss(nn.Module):
    """L_HCL (Eq. 12) under one reading of Eqs. (10)–(11) (see the module docstring).

    ``forward(harmonized, target, mask, generator=None, composite=None)`` → ``(loss, diagnostics)``;
    ``composite`` is required by the readings in ``NEEDS_COMPOSITE``. diagnostics hold ``per_image``
    (B,), ``foreground_cells`` / ``background_cells`` (B,): cells available per region,
    ``empty_images``: images that contributed 0, ``accuracy`` (B,): the share of queries whose
    positive ranks first (NaN for empty images), ``chance``: that share for a random ranking
    (1/(K+1); the loss's chance value is ln(K+1)), and the embeddings and cells drawn.
    """

    def __init__(self, k: int = LossConfig.k, tau: float = LossConfig.tau, factor: int = LossConfig.factor,
                 window: int = LossConfig.window, channels: int = 3, embed_dim: int = 256,
                 reading: str = LossConfig.hcl_reading, key_momentum: float = LossConfig.key_momentum,
                 patch_norm: str = LossConfig.patch_norm):
        super().__init__()
        if reading not in READINGS:
            raise UserInputError(f"unknown reading {reading!r} of Eqs. (10)-(11); choose from {', '.join(READINGS)}")
        self.k, self.tau, self.factor, self.window, self.channels = k, tau, factor, window, channels
        self.reading, self.key_momentum = reading, key_momentum
        features = {"style": 2 * channels, "colour": channels}.get(reading, channels * window * window)
        if patch_norm not in PATCH_NORMS:
            raise UserInputError(f"unknown patch_norm {patch_norm!r}; choose from {', '.join(PATCH_NORMS)}")
        # moments (style, colour) are a handful of numbers with their own scale: never standardized
        self.patch_norm = patch_norm
        standardize = patch_norm == "standardize" and reading not in MOMENT_READINGS
        self.embed = PatchEmbedding(features, embed_dim, embed_dim, standardize=standardize)
        if reading in NEEDS_COMPOSITE:
            self.key_embed = copy.deepcopy(self.embed).requires_grad_(False)

    @classmethod
    def from_config(cls, loss: LossConfig) -> "HCLLoss":
        """From a :class:`hcl.config.LossConfig`."""
        return cls(k=loss.k, tau=loss.tau, factor=loss.factor, window=loss.window, reading=loss.hcl_reading,
                   key_momentum=loss.key_momentum, patch_norm=loss.patch_norm)

    @torch.no_grad()
    def update_keys(self) -> None:
        """EMA step of the key MLP toward the trained one (call after each optimizer step)."""
        if hasattr(self, "key_embed"):
            for key, online in zip(self.key_embed.parameters(), self.embed.parameters()):
                key.lerp_(online, 1 - self.key_momentum)

    def sampling_maps(self, harmonized, target, mask):
        """``(S_fg, S_bg)`` of section III-B1: avgpool(H·M') and avgpool(Ĥ·(1 − M'))."""
        return (F.avg_pool2d(harmonized * mask, self.factor),
                F.avg_pool2d(target.detach() * (1 - mask), self.factor))

    def windows(self, sampling_map, region, cells) -> torch.Tensor:
        """What the MLP sees of each cell: the raw window, or its colour moments (``style``, ``colour``)."""
        patches = crop_patches(sampling_map, cells, self.window)
        if self.reading not in MOMENT_READINGS:
            return patches
        weights = crop_patches(F.avg_pool2d(region, self.factor), cells, self.window)
        return colour_moments(patches, weights, self.channels, with_std=self.reading == "style")

    def forward(self, harmonized: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                generator: torch.Generator | None = None, composite: torch.Tensor | None = None):
        if self.reading in NEEDS_COMPOSITE and composite is None:
            raise ValueError(f"the {self.reading!r} reading of L_HCL needs the input composite: "
                             "call HCLLoss(...)(harmonized, target, mask, generator, composite=composite)")
        mask = mask.to(harmonized.dtype)
        foreground_map, background_map = self.sampling_maps(harmonized, target, mask)
        negative_cells, has_foreground = sample_region_cells(mask, self.k, generator, self.factor)
        positive_cells, has_background = sample_region_cells(1 - mask, self.k, generator, self.factor)
        foreground_windows = self.windows(foreground_map, mask, negative_cells)
        background_windows = self.windows(background_map, 1 - mask, positive_cells)
        negatives = self.embed(foreground_windows)  # (8)
        diagnostics = {}
        if self.reading == "literal":
            positives = self.embed(background_windows)  # (9)
            # the background query is the positive itself: v^bg·P_i = 1, and Σ over all K negatives
            logits = infonce_logits(positives, positives, negatives, self.tau)
        elif self.reading == "spread":
            positives = self.embed(background_windows)
            logits = infonce_logits(negatives, positives, negatives, self.tau, exclude_self=True)
        else:
            composite_map = F.avg_pool2d(composite.detach() * mask, self.factor)
            with torch.no_grad():
                positives = self.key_embed(background_windows)
                mean_background = F.normalize(positives.mean(1, keepdim=True), dim=-1)
                composite_keys = self.key_embed(self.windows(composite_map, mask, negative_cells))
            logits = infonce_logits(negatives, mean_background, composite_keys, self.tau)
            diagnostics["composite_keys"] = composite_keys
        contributes = has_foreground & has_background
        per_image = infonce_from_logits(logits) * contributes
        candidates = logits.shape[-1] - (1 if self.reading == "spread" else 0)
        diagnostics["accuracy"] = top1_accuracy(logits.detach()).masked_fill(~contributes, float("nan"))
        diagnostics["chance"] = 1.0 / candidates  # the accuracy of a random ranking; ln(candidates) the loss's
        diagnostics.update({
            "per_image": per_image.detach(),
            "foreground_cells": region_cell_map(mask, self.factor).flatten(1).sum(1),
            "background_cells": region_cell_map(1 - mask, self.factor).flatten(1).sum(1),
            "empty_images": (~contributes).nonzero().flatten(),
            "negatives": negatives.detach(),
            "positives": positives.detach(),
            "negative_cells": negative_cells,
            "positive_cells": positive_cells,
        })
        return per_image.mean(), diagnostics  # (12): mean over images
