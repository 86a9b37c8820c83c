"""Turn the rough outlines in tools/rough_outlines.json into the annotations hcl ships.

    python tools/annotate_bundled.py [--overlays DIR]

Each rough outline (drawn by hand over a grid view of the photo) is snapped to the object's edges:
pixels deeper than ``band`` (12 px, or the object's own) inside the rough line are seeds for the object, pixels farther than
``band`` outside are seeds for the background, and a random walker (Grady 2006) on the photo's
colours decides the band between. Objects listed in ``minus`` (in front) are cut out, holes are
filled, specks dropped; the result is written as COCO polygons to
hcl/assets/bundled_annotations.json. ``--overlays`` writes one outline-over-photo image per photo
for checking by eye (figures/01_annotations.png shows them all, drawn by notebook 01).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.segmentation import random_walker

from hcl.data.coco import mask_to_polygons, polygon_mask, segmentation_mask, write_coco
from hcl.data.photos import CREDITS, _load_bundled

ROOT = Path(__file__).resolve().parent.parent
VIEW_SIDE = 900  # the grid views the rough outlines were drawn on


def rough_mask(spec: dict, height: int, width: int, rough: dict) -> np.ndarray:
    scale = max(height, width) / VIEW_SIDE
    if "shift_of" in spec:
        source = rough["photos"][spec["shift_of"]][spec["index"]]
        shifted = dict(source, polygon=[[x + spec["shift"][0], y + spec["shift"][1]] for x, y in source["polygon"]])
        return rough_mask(shifted, height, width, rough)
    if "ellipse" in spec:
        cx, cy, rx, ry = (v * scale for v in spec["ellipse"])
        yy, xx = np.mgrid[0:height, 0:width] + 0.5
        return ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
    mask = np.zeros((height, width), dtype=bool)
    for polygon in spec.get("polygons", [spec.get("polygon")]):
        mask |= polygon_mask([c * scale for point in polygon for c in point], height, width)
    return mask


def snap_to_edges(pixels: np.ndarray, rough: np.ndarray, band: int) -> np.ndarray:
    """Random-walker segmentation of the band around a rough mask's boundary."""
    inside = ndimage.binary_erosion(rough, iterations=band, border_value=1)
    outside = ~ndimage.binary_dilation(rough, iterations=band)
    labels = np.zeros(rough.shape, dtype=np.int32)
    labels[inside] = 1
    labels[outside] = 2
    if not inside.any() or not outside.any():
        return rough
    with warnings.catch_warnings():  # probabilities a hair outside [0, 1] at cg_j's tolerance are harmless here
        warnings.simplefilter("ignore", UserWarning)
        result = random_walker(pixels.astype(np.float64) / 255.0, labels, beta=250, mode="cg_j", channel_axis=-1, tol=1e-3)
    mask = result == 1
    mask = ndimage.binary_opening(mask, iterations=1)
    return mask


def clean(mask: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(mask)
    if count > 1:
        sizes = np.bincount(labels.ravel())[1:]
        mask = np.isin(labels, 1 + np.flatnonzero(sizes >= 0.02 * sizes.max()))
    return ndimage.binary_fill_holes(mask)


def overlay(pixels: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    out = pixels.copy()
    colours = [(255, 40, 40), (40, 255, 40), (60, 120, 255), (255, 255, 40), (255, 40, 255)]
    for i, mask in enumerate(masks):
        edge = mask & ~ndimage.binary_erosion(mask, iterations=2)
        out[edge] = colours[i % len(colours)]
    return out


def outline_masks(pixels: np.ndarray, objects: list[dict], rough: dict, unsnapped: bool = False) -> list[np.ndarray]:
    """The final mask of each rough outline of one photo: snapped to the edges (unless ``unsnapped``), the
    objects in front (``minus``) cut out, holes filled, specks dropped."""
    height, width = pixels.shape[:2]
    drawn = [rough_mask(o, height, width, rough) for o in objects]
    snapped = drawn if unsnapped else [snap_to_edges(pixels, m, o.get("band", rough["band"])) for o, m in zip(objects, drawn)]
    final = []
    for obj, mask in zip(objects, snapped):
        for front in obj.get("minus", []):
            mask = mask & ~snapped[front]
        final.append(clean(mask))
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overlays", type=Path, help="write outline overlays here for checking by eye")
    parser.add_argument("--rough", type=Path, default=ROOT / "tools" / "rough_outlines.json",
                        help="the rough outlines (tools/rough_outlines_extra.json: the extra photos')")
    parser.add_argument("--out", type=Path, default=ROOT / "hcl" / "assets" / "bundled_annotations.json")
    parser.add_argument("--unsnapped", action="store_true",
                        help="keep the hand-drawn lines as they are (no snapping to edges): outlines as a user "
                             "draws them, for measuring a model on them (write them with --out elsewhere)")
    args = parser.parse_args()
    rough = json.loads(args.rough.read_text())
    images, annotations, categories = [], [], []
    for name, objects in rough["photos"].items():
        pixels = _load_bundled(name).pixels
        height, width = pixels.shape[:2]
        final = outline_masks(pixels, objects, rough, args.unsnapped)
        images.append({"file_name": name, "height": height, "width": width, "license": CREDITS[name]})
        for obj, mask in zip(objects, final):
            polygons = mask_to_polygons(mask)
            decoded = segmentation_mask(polygons, height, width)
            iou = (decoded & mask).sum() / max((decoded | mask).sum(), 1)
            print(f"{name:18s} {obj['category']:10s} area {mask.mean():6.1%}  polygons {len(polygons)}  "
                  f"vertices {sum(len(p) // 2 for p in polygons):4d}  IoU(decoded, snapped) {iou:.3f}")
            categories += [obj["category"]] if obj["category"] not in categories else []
            annotations.append({"image": len(images) - 1, "category": obj["category"], "segmentation": polygons})
        if args.overlays:
            from PIL import Image

            args.overlays.mkdir(parents=True, exist_ok=True)
            Image.fromarray(overlay(pixels, final)).save(args.overlays / f"{name}.png")
    write_coco(args.out, images, categories, annotations)
    print(f"{len(annotations)} objects on {len(images)} photos -> {args.out}")


if __name__ == "__main__":
    main()
