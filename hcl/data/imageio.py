"""Reading and writing image files with errors that name the file and the fix."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from hcl.errors import UserInputError
from hcl.files import write_atomically
# the tensor helpers live below both the model and the data package; re-exported here for old imports
from hcl.tensors import mask_to_tensor, resize_image, resize_mask, to_tensor, to_uint8  # noqa: F401


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


def encode(array: np.ndarray, fmt: str, quality: int = 95) -> bytes:
    """Image bytes, deterministic for the same array (no timestamps or metadata); JPEG without
    chroma subsampling at ``quality``."""
    buffer = io.BytesIO()
    image = Image.fromarray(array)
    if fmt.upper() in ("JPG", "JPEG"):
        image.save(buffer, format="JPEG", quality=quality, subsampling=0)
    else:
        image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def save_image(path: str | Path, array: np.ndarray) -> None:
    """Save an H×W×3 (or H×W) uint8 array as JPEG or PNG by the file suffix."""
    suffix = Path(path).suffix.lower()
    write_atomically(path, encode(array, "JPEG" if suffix in (".jpg", ".jpeg") else "PNG"))
