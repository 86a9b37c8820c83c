"""How each iHarmony4 subset's composites were made, on annotated objects.

A composite is a real photo whose foreground (one annotated object, its outline the mask) had its
appearance changed:

- **HCOCO** (Cong et al., CVPR 2020): the object is recoloured by colour transfer from *another
  instance of the same category* (from another photo where possible), with one of four transfer
  families (:mod:`hcl.data.transfer`), so that no single family's fingerprint can be learned;
- **HAdobe5k / HFlickr**: the object comes from a differently retouched version of the photo (tone
  curve, exposure, white balance, contrast; hue and saturation) — non-linear, so one affine colour
  map does not undo it exactly (:func:`hcl.data.colour.retouch`);
- **Hday2night**: the object is lit differently (strong exposure shift, a cold or warm cast).

Like iHarmony4, a composite whose foreground barely changed (nothing to harmonize) or changed
beyond recognition is drawn again, and left out if it still is after a few draws
(:data:`FOREGROUND_MSE_RANGE`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from hcl.data import colour, transfer
from hcl.data.coco import bounding_box

FOREGROUND_MSE_RANGE = (80.0, 3000.0)  # mean squared change of the foreground, 0–255 scale
REFERENCE_PIXELS = 4096  # colour statistics of a reference object come from this many of its pixels
# the share of a colour transfer applied: HCOCO applied it fully, but with a few photos the reference
# is often of another category and a full transfer usually lands beyond the filter's upper end
TRANSFER_STRENGTH = (0.4, 1.0)
RETOUCH_STYLE = {"HAdobe5k": "adobe", "HFlickr": "flickr", "Hday2night": "day2night"}


@dataclass
class Reference:
    """Colour source for HCOCO: pixels of one annotated object (N×3 floats in [0, 1])."""

    photo: str
    category: str
    pixels: np.ndarray


def reference_pixels(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Up to :data:`REFERENCE_PIXELS` of the object's pixels, evenly strided (deterministic), float32 in [0, 1]."""
    pixels = image[mask]
    stride = max(1, len(pixels) // REFERENCE_PIXELS)
    return (pixels[::stride][:REFERENCE_PIXELS].astype(np.float32) / 255.0)


class ReferencePool:
    """Colour sources indexed by category: HCOCO's choice costs a few random draws, not a scan, so
    a COCO-sized pool (10⁵ instances) stays fast."""

    RULES = ("same category, other photo", "same category, same photo", "other category")

    def __init__(self, references: list[Reference]):
        self.references = references
        self.by_category: dict[str, list[int]] = {}
        for i, reference in enumerate(references):
            self.by_category.setdefault(reference.category, []).append(i)

    def _draw(self, candidates: list[int], keep, rng: np.random.Generator) -> int | None:
        for _ in range(16):  # rejection sampling first; a scan only when almost nothing qualifies
            i = candidates[int(rng.integers(len(candidates)))]
            if keep(i):
                return i
        qualified = [i for i in candidates if keep(i)]
        return qualified[int(rng.integers(len(qualified)))] if qualified else None

    def choose(self, category: str, photo: str, rng: np.random.Generator,
               exclude: int | None = None) -> tuple[Reference, str]:
        """HCOCO's rule: another instance of the same category, from another photo where possible.

        Returns the reference and which rule found it: 'same category, other photo', 'same category,
        same photo' or, when the category has one instance only, 'other category'."""
        same = self.by_category.get(category, [])
        everyone = range(len(self.references))
        for rule, candidates, keep in (
                (self.RULES[0], same, lambda i: i != exclude and self.references[i].photo != photo),
                (self.RULES[1], same, lambda i: i != exclude),
                (self.RULES[2], everyone, lambda i: i != exclude)):
            if len(candidates):
                found = self._draw(candidates, keep, rng)
                if found is not None:
                    return self.references[found], rule
        raise ValueError("HCOCO needs at least two annotated objects to transfer colour between")


def choose_reference(category: str, photo: str, references, rng: np.random.Generator,
                     exclude: int | None = None) -> tuple[Reference, str]:
    """:meth:`ReferencePool.choose` on a pool or a plain list of references (``exclude``: the index
    of the object being recoloured)."""
    pool = references if isinstance(references, ReferencePool) else ReferencePool(list(references))
    return pool.choose(category, photo, rng, exclude)


def recolour(real: np.ndarray, mask: np.ndarray, subset: str, rng: np.random.Generator,
             reference: Reference | None = None, tries: int = 8,
             strength: tuple[float, float] = TRANSFER_STRENGTH) -> tuple[np.ndarray, str, bool]:
    """The composite (uint8) of ``real`` with ``mask``'s object changed the way ``subset`` was made.

    Returns ``(composite, how, passed)``: ``how`` names the transfer family or retouch style. Draws
    again (new family or parameters) while the foreground's change is outside
    :data:`FOREGROUND_MSE_RANGE`; after ``tries`` the last draw is returned with ``passed`` False.
    ``strength``: the range the applied share of a colour transfer is drawn from ((1, 1): HCOCO's full
    transfer, what ``hcl data from-coco`` uses)."""
    box = bounding_box(mask)
    if box is None:
        return real.copy(), "none", False
    window = (slice(box[0], box[2]), slice(box[1], box[3]))  # every change happens inside the object's box
    real_box, mask_box = real[window], mask[window]
    image = real_box.astype(np.float64) / 255.0
    changed, how, passed = real_box, "none", False
    for _ in range(tries):
        if subset == "HCOCO":
            how = transfer.FAMILIES[int(rng.integers(len(transfer.FAMILIES)))]
            out = transfer.transfer(how, image, mask_box, reference.pixels[:, None, :].astype(np.float64), None, rng=rng)
            out = image + float(rng.uniform(*strength)) * (out - image)
        else:
            how = RETOUCH_STYLE[subset]
            out = colour.retouch(image, mask_box, **colour.random_retouch_parameters(rng, how))
        changed = np.where(mask_box[..., None], np.round(out * 255), real_box).astype(np.uint8)
        change = (changed.astype(np.float64) - real_box)[mask_box]
        passed = FOREGROUND_MSE_RANGE[0] <= float((change**2).mean()) <= FOREGROUND_MSE_RANGE[1]
        if passed:
            break
    composite = real.copy()
    composite[window] = changed
    return composite, how, passed


def crop_around(pixels: np.ndarray, masks: list[np.ndarray], target: int, rng: np.random.Generator,
                size: int, coverage: tuple[float, float]) -> tuple[np.ndarray, list[np.ndarray], tuple] | None:
    """A square crop that frames object ``target`` so it covers a share of the crop within
    ``coverage``, resized to size×size; returns the crop, every object's mask in it (resized,
    binarized at 0.5) and the window ``(top, left, side)``, or None when no crop of this photo frames
    the object that way."""
    height, width = pixels.shape[:2]
    short = min(height, width)
    box = bounding_box(masks[target])
    if box is None:
        return None
    top, left, bottom, right = box
    area = float(masks[target].sum())
    for _ in range(6):
        share = rng.uniform(max(coverage[0], 0.08), min(coverage[1], 0.45))
        side = int(np.clip(np.sqrt(area / share), 0.3 * short, short))
        # keep the whole object in the crop when it fits, else centre the crop on it
        lo_y, hi_y = (max(0, bottom - side), min(top, height - side)) if bottom - top <= side else \
            (max(0, (top + bottom - side) // 2 - side // 8), min(height - side, (top + bottom - side) // 2 + side // 8))
        lo_x, hi_x = (max(0, right - side), min(left, width - side)) if right - left <= side else \
            (max(0, (left + right - side) // 2 - side // 8), min(width - side, (left + right - side) // 2 + side // 8))
        y0 = int(rng.integers(lo_y, max(lo_y, hi_y) + 1))
        x0 = int(rng.integers(lo_x, max(lo_x, hi_x) + 1))
        window = (slice(y0, y0 + side), slice(x0, x0 + side))
        crop_masks = [_resize_mask(m[window], size) for m in masks]
        if coverage[0] <= crop_masks[target].mean() <= coverage[1]:
            crop = np.asarray(Image.fromarray(pixels[window]).resize((size, size), Image.BILINEAR, reducing_gap=None))
            return crop, crop_masks, (y0, x0, side)
    return None


def _resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    image = Image.fromarray(mask.astype(np.float32))
    return np.asarray(image.resize((size, size), Image.BILINEAR, reducing_gap=None)) >= 0.5
