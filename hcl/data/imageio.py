"""Reading and writing images with errors that name the file and the fix."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from hcl.errors import UserInputError


def _open(path: Path) -> Image.Image:
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: file not found; check the path")
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UserInputError(f"{path}: unreadable image ({error.__class__.__name__}); re-export it as JPEG or PNG") from None
    return image


def read_rgb(path: str | Path) -> np.ndarray:
    """H×W×3 uint8 RGB (grey and RGBA images are converted)."""
    return np.asarray(_open(path).convert("RGB"))


def read_mask(path: str | Path, expected_hw: tuple[int, int] | None = None) -> np.ndarray:
    """H×W bool, binarized at 0.5 of the 8-bit range.

    A mask must be single-channel after conversion: grey, or RGB with equal channels.
    """
    image = _open(path)
    if image.mode in ("L", "1", "P", "I", "I;16", "F"):
        array = np.asarray(image.convert("L"))
    else:
        rgb = np.asarray(image.convert("RGB"))
        if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])):
            raise UserInputError(f"{path}: mask has colour; save it as a single-channel (greyscale) PNG, white = foreground")
        array = rgb[..., 0]
    if expected_hw is not None and tuple(array.shape) != tuple(expected_hw):
        raise UserInputError(
            f"{path}: mask is {array.shape[1]}×{array.shape[0]} but its image is {expected_hw[1]}×{expected_hw[0]}; "
            "resize the mask (nearest) to the image size"
        )
    return array >= 128


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """H×W×3 uint8 → 3×H×W float32 in [0, 1]."""
    return torch.from_numpy(np.array(rgb, copy=True)).permute(2, 0, 1).float().div_(255.0)


def mask_to_tensor(mask: np.ndarray) -> torch.Tensor:
    """H×W bool → 1×H×W float32 in {0, 1}."""
    return torch.from_numpy(np.array(mask, copy=True)).float().unsqueeze(0)


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


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """3×H×W float in [0, 1] → H×W×3 uint8 (rounded)."""
    return (image.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy())


def encode(array: np.ndarray, fmt: str) -> bytes:
    """Image bytes, deterministic for the same array (no timestamps or metadata)."""
    buffer = io.BytesIO()
    image = Image.fromarray(array)
    if fmt.upper() in ("JPG", "JPEG"):
        image.save(buffer, format="JPEG", quality=95, subsampling=0)
    else:
        image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def write_atomically(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and a rename (never half-written)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def save_image(path: str | Path, array: np.ndarray) -> None:
    """Save an H×W×3 (or H×W) uint8 array as JPEG or PNG by the file suffix."""
    suffix = Path(path).suffix.lower()
    write_atomically(path, encode(array, "JPEG" if suffix in (".jpg", ".jpeg") else "PNG"))
