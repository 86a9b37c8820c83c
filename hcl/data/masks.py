"""Foreground masks for the mini-iHarmony4, covering a target share of the image.

iHarmony4's masks are object outlines from COCO / Flickr / Adobe annotations. Without
annotations we grow masks from image segments, which follow real edges like object masks do:

- ``grow_segments`` on SLIC superpixels or Felzenszwalb segments: start from one segment and add
  touching ones until the target coverage is reached;
- ``blob_mask``: a smooth object-like shape (a thresholded smooth random field), for photos where
  segments are poor;
- ``depth_mask``: the nearest part of a scene from a disparity map (the stereo motorcycle).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.segmentation import felzenszwalb, slic

MIN_COVERAGE, MAX_COVERAGE = 0.05, 0.50


def segment(image: np.ndarray, rng: np.random.Generator, method: str) -> np.ndarray:
    """Integer labels H×W of ``image`` by 'slic' or 'felzenszwalb'."""
    if method == "slic":
        return slic(image, n_segments=int(rng.integers(40, 120)), compactness=10.0, start_label=0)
    if method == "felzenszwalb":
        return felzenszwalb(image, scale=float(rng.choice([100, 200, 400])), sigma=0.8, min_size=100)
    raise ValueError(f"unknown segmentation {method!r}")


def _neighbours(labels: np.ndarray) -> dict[int, set[int]]:
    pairs = np.concatenate([
        np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], 1),
        np.stack([labels[:-1, :].ravel(), labels[1:, :].ravel()], 1),
    ])
    pairs = np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)
    graph: dict[int, set[int]] = {}
    for a, b in pairs:
        graph.setdefault(int(a), set()).add(int(b))
        graph.setdefault(int(b), set()).add(int(a))
    return graph


def grow_segments(labels: np.ndarray, rng: np.random.Generator, target: float) -> np.ndarray:
    """Union of touching segments, grown from a random one until it covers ``target`` of the image."""
    areas = np.bincount(labels.ravel()).astype(np.float64) / labels.size
    graph = _neighbours(labels)
    candidates = np.flatnonzero((areas > 0) & (areas < target))
    chosen = {int(rng.choice(candidates))} if len(candidates) else {int(rng.integers(0, len(areas)))}
    covered = sum(areas[i] for i in chosen)
    frontier = set().union(*(graph.get(i, set()) for i in chosen)) - chosen
    while covered < target and frontier:
        nxt = int(rng.choice(sorted(frontier)))
        if covered + areas[nxt] > MAX_COVERAGE:
            frontier.discard(nxt)
            continue
        chosen.add(nxt)
        covered += areas[nxt]
        frontier |= graph.get(nxt, set())
        frontier -= chosen
    mask = np.isin(labels, sorted(chosen))
    return ndimage.binary_fill_holes(mask)


def blob_mask(shape: tuple[int, int], rng: np.random.Generator, target: float) -> np.ndarray:
    """A smooth, connected, object-like shape covering about ``target`` of the image."""
    height, width = shape
    field = ndimage.gaussian_filter(rng.standard_normal((height, width)), sigma=min(height, width) / 10)
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = rng.uniform(0.25, 0.75) * height, rng.uniform(0.25, 0.75) * width
    radius = np.sqrt(target / np.pi) * np.sqrt(height * width)
    bump = np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2)))
    score = bump + 0.6 * field / (field.std() + 1e-8) * bump.std()
    mask = score >= np.quantile(score, 1 - target)
    labels, count = ndimage.label(mask)
    if count > 1:
        mask = labels == (np.argmax(np.bincount(labels.ravel())[1:]) + 1)
    return ndimage.binary_fill_holes(mask)


def depth_mask(disparity: np.ndarray, target: float) -> np.ndarray:
    """The nearest ``target`` share of a scene (largest disparity), its largest connected part."""
    finite = np.where(np.isfinite(disparity), disparity, np.nanmin(disparity[np.isfinite(disparity)]))
    mask = finite >= np.quantile(finite, 1 - target)
    mask = ndimage.binary_opening(mask, iterations=2)
    labels, count = ndimage.label(mask)
    if count > 1:
        mask = labels == (np.argmax(np.bincount(labels.ravel())[1:]) + 1)
    return ndimage.binary_fill_holes(mask)


def coverage(mask: np.ndarray) -> float:
    return float(mask.mean())
