"""Low-level tensor helpers shared by the model, the data and inference: the one image resize, the
one mask resize, and conversions between uint8 arrays and [0, 1] tensors.

This module sits below :mod:`hcl.model` and :mod:`hcl.data` and imports neither, so the network does
not depend on the data package.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def resize_image(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """C×H×W or B×C×H×W float image → (…)×size, bilinear with antialias."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    batched = image if image.dim() == 4 else image.unsqueeze(0)
    out = F.interpolate(batched, size=size, mode="bilinear", antialias=True, align_corners=False)
    return out if image.dim() == 4 else out[0]


def resize_mask(mask: torch.Tensor, size: tuple[int, int], soft: bool = False) -> torch.Tensor:
    """1×H×W or B×1×H×W mask → (…)×size.

    The one mask resize: ``soft=False`` (images, evaluation): nearest, binarized at 0.5.
    ``soft=True`` (feature maps inside the network): area averaging, so a cell on the boundary
    gets the share of it that is foreground."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask if soft else (mask >= 0.5).to(torch.float32)
    batched = mask if mask.dim() == 4 else mask.unsqueeze(0)
    out = F.adaptive_avg_pool2d(batched, size) if soft else F.interpolate(batched, size=size, mode="nearest")
    out = out if mask.dim() == 4 else out[0]
    return out if soft else (out >= 0.5).to(torch.float32)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """H×W×3 uint8 → 3×H×W float32 in [0, 1]."""
    return torch.from_numpy(np.array(rgb, copy=True)).permute(2, 0, 1).float().div_(255.0)


def mask_to_tensor(mask: np.ndarray) -> torch.Tensor:
    """H×W bool → 1×H×W float32 in {0, 1}."""
    return torch.from_numpy(np.array(mask, copy=True)).float().unsqueeze(0)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """3×H×W float in [0, 1] → H×W×3 uint8 (rounded)."""
    return (image.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy())
