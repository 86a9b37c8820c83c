"""Real composites: an annotated object cut from one bundled photo and pasted into another.

These are what a practitioner harmonizes (the paper's RealHM and DIH99 are sets of them): the object keeps
the lighting and camera of its own photo, and no ground truth exists — judge them by eye or blind
(notebook 06). The photos and outlines are the mini set's own (:mod:`hcl.data.photos`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from hcl.data.photos import Photo, bundled_photos

# (object photo, object category, background photo, object height as a share of the image, its centre x, its bottom y)
GALLERY = (
    ("motorcycle_left", "motorcycle", "china", 0.55, 0.50, 0.98),
    ("grace_hopper", "person", "garden", 0.85, 0.65, 1.00),
    ("coffee", "cup", "aqua", 0.45, 0.45, 0.85),
    ("astronaut", "person", "china", 0.85, 0.30, 1.00),
    ("flower", "flower", "chelsea", 0.40, 0.72, 0.55),
    ("rocket", "rocket", "ladybird", 0.80, 0.25, 0.95),
)


@dataclass
class RealComposite:
    name: str
    composite: np.ndarray  # size×size×3 uint8
    mask: np.ndarray  # size×size bool: where the pasted object is
    credit: str


def square(pixels: np.ndarray, size: int) -> np.ndarray:
    """The centred square crop of an H×W×3 image, resized to size×size."""
    height, width = pixels.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = Image.fromarray(pixels[top:top + side, left:left + side])
    return np.asarray(crop.resize((size, size), Image.BILINEAR, reducing_gap=None))


def paste_object(source: Photo, category: str, background: Photo, size: int = 256, height_share: float = 0.6,
                 centre_x: float = 0.5, bottom_y: float = 1.0) -> RealComposite:
    """``source``'s largest object of ``category``, scaled to ``height_share`` of the image height, pasted
    into the square ``background`` with its box centred at ``centre_x`` and its bottom at ``bottom_y``
    (shares of the side; the object is clipped at the borders)."""
    outlines = [o for o in source.outlines if o.category == category]
    if not outlines:
        raise ValueError(f"{source.name} has no outlined {category!r}; it has {sorted({o.category for o in source.outlines})}")
    mask = max(outlines, key=lambda o: o.mask.sum()).mask
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    scale = height_share * size / (bottom - top)
    width, height = max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale))
    piece = np.asarray(Image.fromarray(source.pixels[top:bottom, left:right]).resize((width, height), Image.BILINEAR,
                                                                                     reducing_gap=None))
    piece_mask = np.asarray(Image.fromarray(mask[top:bottom, left:right].astype(np.uint8) * 255).resize(
        (width, height), Image.BILINEAR, reducing_gap=None)) >= 128
    composite = square(background.pixels, size).copy()
    full_mask = np.zeros((size, size), dtype=bool)
    y0, x0 = round(bottom_y * size) - height, round(centre_x * size - width / 2)
    ys, xs = slice(max(y0, 0), min(y0 + height, size)), slice(max(x0, 0), min(x0 + width, size))
    inside = piece_mask[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    composite[ys, xs][inside] = piece[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0][inside]
    full_mask[ys, xs] = inside
    return RealComposite(f"{source.name}'s {category} in {background.name}", composite, full_mask,
                         f"object: {source.credit}; background: {background.credit}")


def real_composites(size: int = 256) -> list[RealComposite]:
    """The gallery of :data:`GALLERY`: six objects pasted into other photos, with our outlines."""
    from hcl.data.photos import BUNDLED_ANNOTATIONS, attach_outlines

    photos = bundled_photos()
    attach_outlines(photos, BUNDLED_ANNOTATIONS)
    by_name = {p.name: p for split in photos.values() for p in split}
    return [paste_object(by_name[obj], category, by_name[bg], size, share, x, y)
            for obj, category, bg, share, x, y in GALLERY]
