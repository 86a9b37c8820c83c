"""The four colour-transfer families HCOCO's composites were made with (Cong et al., CVPR 2020).

iHarmony4 recoloured one COCO instance with the colours of another instance of the same category,
using four families of colour transfer, so that one family's fingerprint cannot be learned:

- :func:`reinhard_transfer`: global Lab mean and std (Reinhard et al., 2001);
- :func:`correlated_transfer`: RGB mean and full 3×3 covariance (Xiao & Ma, 2006: correlated
  colour space);
- :func:`histogram_transfer`: per-channel cumulative histogram matching;
- :func:`idt_transfer`: iterative distribution transfer with regrain (Pitié et al., 2005/2007).

Every function takes float H×W×3 RGB in [0, 1], the foreground ``region`` (H×W bool) that changes
and a ``reference`` image with its own ``reference_region`` (None: all of it), and returns a new
image; pixels outside ``region`` are returned unchanged.
"""

from __future__ import annotations

import warnings

import numpy as np
from skimage.color import lab2rgb, rgb2lab

FAMILIES = ("reinhard", "correlated", "histogram", "idt")


def _pixels(reference: np.ndarray, reference_region: np.ndarray | None) -> np.ndarray:
    return reference[reference_region] if reference_region is not None else reference.reshape(-1, 3)


def _lab(pixels: np.ndarray) -> np.ndarray:
    return rgb2lab(pixels.reshape(-1, 1, 3)).reshape(-1, 3)


def _rgb_from_lab(lab: np.ndarray) -> np.ndarray:
    lab = lab.copy()
    lab[:, 0] = np.clip(lab[:, 0], 0, 100)
    with warnings.catch_warnings():  # out-of-gamut Lab values are clipped, as intended
        warnings.simplefilter("ignore", UserWarning)
        return np.clip(lab2rgb(lab.reshape(-1, 1, 3)).reshape(-1, 3), 0, 1)


def lab_statistics(pixels_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (population) std of N×3 RGB pixels in Lab."""
    lab = _lab(pixels_rgb)
    return lab.mean(axis=0), lab.std(axis=0)


def reinhard_transfer(image, region, reference, reference_region=None, strength: float = 1.0) -> np.ndarray:
    """Give ``image[region]`` the Lab mean/std of the reference: per channel
    ``out = (x − μ_src) / σ_src · σ_ref + μ_ref``. ``strength`` in [0, 1] moves the target statistics
    only part of the way from the source's to the reference's."""
    out = image.copy()
    source = image[region]
    if source.size == 0:
        return out
    mean_src, std_src = lab_statistics(source)
    mean_ref, std_ref = lab_statistics(_pixels(reference, reference_region))
    mean_target = mean_src + strength * (mean_ref - mean_src)
    std_target = std_src + strength * (std_ref - std_src)
    lab = (_lab(source) - mean_src) / np.maximum(std_src, 1e-6) * std_target + mean_target
    out[region] = _rgb_from_lab(lab)
    return out


def _sqrtm(covariance: np.ndarray, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, 1e-8)
    return (vectors * (values ** (-0.5 if inverse else 0.5))) @ vectors.T


def correlated_transfer(image, region, reference, reference_region=None) -> np.ndarray:
    """Match the RGB mean and full covariance: ``out = C_ref^{1/2} C_src^{-1/2} (x − μ_src) + μ_ref``.

    Unlike Lab mean/std, this moves correlated channels together (Xiao & Ma's colour transfer in a
    correlated colour space); the symmetric square roots make the map the one closest to a pure
    scaling."""
    out = image.copy()
    source = image[region]
    if len(source) < 2:
        return out
    target = _pixels(reference, reference_region)
    mean_src, mean_ref = source.mean(0), target.mean(0)
    matrix = _sqrtm(np.cov(target.T, bias=True) + 1e-6 * np.eye(3)) @ _sqrtm(np.cov(source.T, bias=True) + 1e-6 * np.eye(3), inverse=True)
    out[region] = np.clip((source - mean_src) @ matrix.T + mean_ref, 0, 1)
    return out


def match_1d(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Cumulative histogram matching of one channel: the value of rank r among n moves to the
    target's value at quantile (r + ½)/n."""
    order = np.argsort(values, kind="stable")
    quantiles = (np.arange(values.size) + 0.5) / values.size
    target_quantiles = (np.arange(target.size) + 0.5) / target.size
    matched = np.empty(values.size)
    matched[order] = np.interp(quantiles, target_quantiles, np.sort(target))
    return matched


def match_1d_binned(values: np.ndarray, target: np.ndarray, bins: int = 300) -> np.ndarray:
    """Pitié's 1-D pdf transfer: histogram matching on ``bins`` common bins (linear in the pixel
    count, where :func:`match_1d` sorts)."""
    low, high = min(values.min(), target.min()), max(values.max(), target.max())
    if high - low < 1e-12:
        return values.copy()
    width = (high - low) / bins

    def bin_of(x):
        return np.minimum(((x - low) / width).astype(np.int64), bins - 1)

    cdf_source = np.cumsum(np.bincount(bin_of(values), minlength=bins)) / values.size
    cdf_target = np.cumsum(np.bincount(bin_of(target), minlength=bins)) / target.size
    cdf_target = cdf_target + np.arange(bins) * 1e-12  # strictly increasing for interp
    upper_edges = low + width * np.arange(1, bins + 1)
    mapped = np.concatenate([[np.interp(0.0, cdf_target, upper_edges)], np.interp(cdf_source, cdf_target, upper_edges)])
    # piecewise-linear between bin edges: edge k maps to mapped[k]
    position = (values - low) / width
    index = np.minimum(position.astype(np.int64), bins - 1)
    fraction = position - index
    return mapped[index] * (1 - fraction) + mapped[index + 1] * fraction


def histogram_transfer(image, region, reference, reference_region=None) -> np.ndarray:
    """Per-channel cumulative histogram matching in RGB: every channel of the foreground gets the
    reference's distribution (a non-linear, monotone curve per channel)."""
    out = image.copy()
    source = image[region]
    if source.size == 0:
        return out
    target = _pixels(reference, reference_region)
    out[region] = np.stack([match_1d(source[:, c], target[:, c]) for c in range(3)], axis=1)
    return out


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def regrain(original: np.ndarray, recoloured: np.ndarray, region: np.ndarray, smoothness: float = 1.0) -> np.ndarray:
    """Pitié et al.'s regrain: keep the recoloured colours but the original's fine detail.

    Solves, over the region's pixels, ``min ‖∇out − ∇original‖² + λ‖out − recoloured‖²`` with
    ``λ = 1 / smoothness`` (a screened Poisson equation; gradients are taken between 4-neighbours
    inside the region). Iterative distribution transfer stretches colours unevenly and leaves
    grain; this puts the original's gradients back."""
    from scipy.sparse import coo_matrix, identity
    from scipy.sparse.linalg import cg

    index = -np.ones(region.shape, dtype=np.int64)
    count = int(region.sum())
    index[region] = np.arange(count)
    rows, cols = [], []
    for a, b in ((index[:, :-1], index[:, 1:]), (index[:-1, :], index[1:, :])):
        both = (a >= 0) & (b >= 0)
        rows.append(a[both])
        cols.append(b[both])
    i, j = np.concatenate(rows), np.concatenate(cols)
    adjacency = coo_matrix((np.ones(len(i)), (i, j)), shape=(count, count))
    adjacency = (adjacency + adjacency.T).tocsr()
    laplacian = identity(count, format="csr").multiply(np.asarray(adjacency.sum(1))) - adjacency
    system = (laplacian + identity(count) / smoothness).tocsr()
    out = recoloured.copy()
    difference = original[region] - recoloured[region]
    for c in range(3):
        rhs = laplacian @ difference[:, c]
        correction, _ = cg(system, rhs, rtol=1e-4, maxiter=100)
        out[region, c] = recoloured[region, c] + correction
    out[region] = np.clip(out[region], 0, 1)
    return out


def idt_transfer(image, region, reference, reference_region=None, iterations: int = 10,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Iterative distribution transfer with regrain (Pitié, Kokaram & Dahyot 2005/2007).

    Repeat: rotate the colour space at random, match the three 1-D marginals of the foreground to
    the reference's along the rotated axes (:func:`match_1d_binned`), rotate back. The whole 3-D distribution converges to the
    reference's; :func:`regrain` then restores the original's detail."""
    rng = rng if rng is not None else np.random.default_rng(0)
    out = image.copy()
    source = image[region]
    if source.size == 0:
        return out
    target = _pixels(reference, reference_region)
    current = source.copy()
    for _ in range(iterations):
        rotation = _random_rotation(rng)
        projected, projected_target = current @ rotation, target @ rotation
        matched = np.stack([match_1d_binned(projected[:, c], projected_target[:, c]) for c in range(3)], axis=1)
        current = current + (matched - projected) @ rotation.T
    out[region] = np.clip(current, 0, 1)
    return regrain(image, out, region)


def transfer(family: str, image, region, reference, reference_region=None,
             rng: np.random.Generator | None = None) -> np.ndarray:
    """Apply one of :data:`FAMILIES` by name."""
    if family == "reinhard":
        return reinhard_transfer(image, region, reference, reference_region)
    if family == "correlated":
        return correlated_transfer(image, region, reference, reference_region)
    if family == "histogram":
        return histogram_transfer(image, region, reference, reference_region)
    if family == "idt":
        return idt_transfer(image, region, reference, reference_region, rng=rng)
    raise ValueError(f"unknown colour transfer family {family!r}; choose from {FAMILIES}")
