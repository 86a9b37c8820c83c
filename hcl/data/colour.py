"""How iHarmony4's composites were made, imitated: appearance changes applied to a foreground.

- HCOCO: Reinhard colour transfer in Lab (mean/std matching) from another photo's region.
- HAdobe5k / HFlickr: the same photo "retouched" differently (tone curve, exposure, white
  balance; hue and saturation).
- Hday2night: a day/night-like change (strong exposure shift, cold or warm tint, less saturation).

All functions take and return float H×W×3 RGB in [0, 1]; the foreground ``region`` (H×W bool)
is the only part that changes.
"""

from __future__ import annotations

import warnings

import numpy as np
from skimage.color import hsv2rgb, lab2rgb, rgb2hsv, rgb2lab


def lab_statistics(pixels_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (population) std of N×3 RGB pixels in Lab."""
    lab = rgb2lab(pixels_rgb.reshape(-1, 1, 3)).reshape(-1, 3)
    return lab.mean(axis=0), lab.std(axis=0)


def reinhard_transfer(
    image: np.ndarray, region: np.ndarray, reference: np.ndarray, reference_region: np.ndarray | None = None,
    strength: float = 1.0,
) -> np.ndarray:
    """Reinhard et al. (2001): give ``image[region]`` the Lab mean/std of ``reference[reference_region]``.

    In Lab, per channel: ``out = (x − μ_src) / σ_src · σ_ref + μ_ref``; ``strength`` in [0, 1]
    moves the target statistics only part of the way from the source's to the reference's.
    """
    out = image.copy()
    source = image[region]
    if source.size == 0:
        return out
    ref_pixels = reference[reference_region] if reference_region is not None else reference.reshape(-1, 3)
    mean_src, std_src = lab_statistics(source)
    mean_ref, std_ref = lab_statistics(ref_pixels)
    mean_target = mean_src + strength * (mean_ref - mean_src)
    std_target = std_src + strength * (std_ref - std_src)
    lab = rgb2lab(source.reshape(-1, 1, 3)).reshape(-1, 3)
    lab = (lab - mean_src) / np.maximum(std_src, 1e-6) * std_target + mean_target
    lab[:, 0] = np.clip(lab[:, 0], 0, 100)
    with warnings.catch_warnings():  # out-of-gamut Lab values are clipped, as intended
        warnings.simplefilter("ignore", UserWarning)
        rgb = lab2rgb(lab.reshape(-1, 1, 3)).reshape(-1, 3)
    out[region] = np.clip(rgb, 0, 1)
    return out


def retouch(image: np.ndarray, region: np.ndarray, exposure_ev=0.0, gamma=1.0, gains=(1.0, 1.0, 1.0),
            contrast=1.0, hue_shift=0.0, saturation=1.0) -> np.ndarray:
    """A photo-editor style change of the foreground: exposure, gamma curve, white balance,
    contrast around mid-grey, hue rotation (fraction of a turn) and saturation."""
    out = image.copy()
    pixels = image[region]
    if pixels.size == 0:
        return out
    pixels = pixels * (2.0 ** exposure_ev) * np.asarray(gains)[None, :]
    pixels = np.clip(pixels, 0, 1) ** gamma
    pixels = np.clip((pixels - 0.5) * contrast + 0.5, 0, 1)
    if hue_shift != 0.0 or saturation != 1.0:
        hsv = rgb2hsv(pixels.reshape(-1, 1, 3)).reshape(-1, 3)
        hsv[:, 0] = (hsv[:, 0] + hue_shift) % 1.0
        hsv[:, 1] = np.clip(hsv[:, 1] * saturation, 0, 1)
        pixels = hsv2rgb(hsv.reshape(-1, 1, 3)).reshape(-1, 3)
    out[region] = np.clip(pixels, 0, 1)
    return out


def random_retouch_parameters(rng: np.random.Generator, style: str) -> dict:
    """Random ``retouch`` arguments for a subset style: 'adobe', 'flickr' or 'day2night'."""
    sign = rng.choice([-1.0, 1.0])
    if style == "adobe":
        return dict(exposure_ev=sign * rng.uniform(0.3, 1.0), gamma=rng.uniform(0.7, 1.4),
                    gains=tuple(rng.uniform(0.85, 1.15, size=3)), contrast=rng.uniform(0.8, 1.25))
    if style == "flickr":
        return dict(exposure_ev=rng.uniform(-0.5, 0.5), hue_shift=sign * rng.uniform(0.04, 0.15),
                    saturation=rng.uniform(0.6, 1.5), contrast=rng.uniform(0.85, 1.15))
    if style == "day2night":
        night = rng.random() < 0.5
        if night:
            return dict(exposure_ev=-rng.uniform(0.8, 1.8), gains=(0.8, 0.9, 1.15), saturation=rng.uniform(0.5, 0.8),
                        contrast=rng.uniform(0.8, 1.0))
        return dict(exposure_ev=rng.uniform(0.5, 1.2), gains=(1.12, 1.0, 0.85), saturation=rng.uniform(0.9, 1.2),
                    gamma=rng.uniform(0.8, 1.0))
    raise ValueError(f"unknown retouch style {style!r}")
