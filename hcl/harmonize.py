"""``hcl harmonize``: a user's own composite and mask, at any size (DESIGN §6, §7).

The network runs at the size it was trained at; its predicted change is upsampled and added to
the full-size composite inside the mask, so every background pixel of the output is the
composite's, byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hcl.checkpoint import model_from_checkpoint
from hcl.data.imageio import mask_to_tensor, read_mask, read_rgb, save_image, to_tensor, to_uint8
from hcl.errors import UserInputError
from hcl.evaluate import harmonize_any_resolution, network_size

OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg")


def harmonize_arrays(net, composite: np.ndarray, mask: np.ndarray, net_size: int, device="cpu") -> np.ndarray:
    """H×W×3 uint8 composite and H×W bool mask → H×W×3 uint8 harmonized image."""
    image = to_tensor(composite)[None].to(device)
    weights = mask_to_tensor(mask)[None].to(device)
    harmonized = to_uint8(harmonize_any_resolution(net, image, weights, net_size)[0])
    return np.where(mask[..., None], harmonized, composite)  # background: the composite's own bytes


def harmonize_file(composite_path, mask_path, out_path, checkpoint=None, device="cpu", force=False) -> Path:
    """Read, check, harmonize and write; returns the output path. Refuses to overwrite without ``force``."""
    out_path = Path(out_path)
    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UserInputError(f"{out_path}: --out must end in .png or .jpg")
    if out_path.exists() and not force:
        raise UserInputError(f"{out_path}: already exists; choose another --out or pass --force to replace it")
    if not out_path.parent.is_dir():
        raise UserInputError(f"{out_path.parent}: folder does not exist; create it first")
    composite = read_rgb(composite_path)
    mask = read_mask(mask_path, expected_hw=composite.shape[:2])
    if not mask.any():
        raise UserInputError(f"{mask_path}: mask is empty (no white pixel); paint the foreground white")
    net, state = model_from_checkpoint(checkpoint, device)
    with torch.no_grad():
        result = harmonize_arrays(net, composite, mask, network_size(state), device)
    save_image(out_path, result)
    return out_path
