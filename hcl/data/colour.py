"""How iHarmony4's composites were made, imitated: appearance changes applied to a foreground.

- HCOCO: colour transfer from another instance of the same category, four families
  (:mod:`hcl.data.transfer`; ``reinhard_transfer`` is re-exported here).
- HAdobe5k / HFlickr: the same photo "retouched" differently (tone curve, exposure, white
  balance; hue and saturation).
- Hday2night: a day/night-like change (strong exposure shift, cold or warm tint, less saturation).

All functions take and return float H×W×3 RGB in [0, 1]; the foreground ``region`` (H×W bool)
is the only part that changes.
"""

from __future__ import annotations

import numpy as np
from skimage.color import hsv2rgb, rgb2hsv

from hcl.data.transfer import lab_statistics, reinhard_transfer  # noqa: F401  (HCOCO's first family)


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
