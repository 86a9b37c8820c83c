"""``hcl harmonize``: a user's own composite and mask, at any size, through :mod:`hcl.inference`.

Every background pixel of the output is the composite's, byte for byte; nothing is overwritten
without ``--force``.
"""

from __future__ import annotations

from pathlib import Path

from hcl.data.imageio import read_mask, read_rgb, save_image
from hcl.errors import UserInputError
from hcl.files import check_output_file
from hcl.inference import load_harmonizer

OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg")


def harmonize_file(composite_path, mask_path, out_path, checkpoint=None, device="cpu", force=False) -> Path:
    """Read, check, harmonize and write; returns the output path. Refuses to overwrite without ``force``."""
    out_path = Path(out_path)
    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UserInputError(f"{out_path}: --out must end in .png or .jpg")
    check_output_file(out_path, force, "--out")
    composite = read_rgb(composite_path)
    mask = read_mask(mask_path, expected_hw=composite.shape[:2])
    if not mask.any():
        raise UserInputError(f"{mask_path}: mask is empty (no white pixel); paint the foreground white")
    harmonizer = load_harmonizer(checkpoint, device)
    save_image(out_path, harmonizer(composite, mask))
    return out_path
