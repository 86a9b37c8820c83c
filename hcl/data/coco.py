"""COCO-format instance annotations: reading a file and decoding its masks exactly.

A COCO-format file is JSON with ``images`` (``id``, ``file_name``, ``height``, ``width``),
``categories`` (``id``, ``name``) and ``annotations`` (``id``, ``image_id``, ``category_id``,
``segmentation``, optional ``iscrowd``). A segmentation is one of

- **polygons**: a list of ``[x1, y1, x2, y2, …]`` in pixel coordinates; the mask is their union;
- **uncompressed RLE**: ``{"counts": [n0, n1, …], "size": [h, w]}``;
- **compressed RLE**: the same with ``counts`` a string (COCO's 6-bit LEB128-like text).

Run-length counts run down the columns (column-major), alternating 0-runs and 1-runs and starting
with a 0-run. Polygons are rasterized the way ``pycocotools`` does it (boundary traced on a 5×
finer grid, then one toggle per column crossing), so a mask decoded here is the mask every COCO
tool sees; ``tests/test_coco.py`` checks that against hand-made cases and against ``pycocotools``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hcl.errors import UserInputError

POLYGON_SCALE = 5  # pycocotools traces polygon edges on a grid 5× finer than the pixels


# ---------------------------------------------------------------- run-length encoding
def counts_from_string(text: str) -> list[int]:
    """Decode COCO's compressed RLE string into run lengths.

    Each count is written in 5-bit groups, low bits first, as characters ``48 + group``; bit 0x20
    says another group follows, bit 0x10 of the last group is the sign. From the third count on,
    the value stored is the difference to the count two places before.
    """
    counts: list[int] = []
    position = 0
    while position < len(text):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(text):
                raise ValueError("compressed RLE string ends in the middle of a count")
            group = ord(text[position]) - 48
            if not 0 <= group < 64:
                raise ValueError(f"character {text[position]!r} cannot occur in a compressed RLE string")
            value |= (group & 0x1F) << shift
            more = bool(group & 0x20)
            position += 1
            shift += 5
            if not more and group & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def counts_to_string(counts) -> str:
    """The inverse of :func:`counts_from_string` (what ``pycocotools.mask.encode`` writes)."""
    chars = []
    counts = [int(c) for c in counts]
    for i, count in enumerate(counts):
        value = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            group = value & 0x1F
            value >>= 5
            more = value != -1 if group & 0x10 else value != 0
            if more:
                group |= 0x20
            chars.append(chr(group + 48))
    return "".join(chars)


def decode_counts(counts, height: int, width: int) -> np.ndarray:
    """An H×W bool mask from run lengths (column-major, starting with a run of zeros)."""
    counts = np.asarray(counts, dtype=np.int64)
    if (counts < 0).any():
        raise ValueError("RLE counts must not be negative")
    if counts.sum() != height * width:
        raise ValueError(f"RLE counts sum to {int(counts.sum())}, not height × width = {height * width}")
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape(width, height).T.copy()


def encode_counts(mask: np.ndarray) -> list[int]:
    """Run lengths of an H×W mask (column-major, starting with a run of zeros)."""
    flat = np.asarray(mask, dtype=bool).T.ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(edges).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    return runs


def encode_rle(mask: np.ndarray) -> dict:
    """A compressed-RLE segmentation for a mask, as COCO files store crowd regions."""
    height, width = np.asarray(mask).shape
    return {"size": [height, width], "counts": counts_to_string(encode_counts(mask))}


# ---------------------------------------------------------------- polygons
def _trunc(values: np.ndarray) -> np.ndarray:
    """C's ``(int)`` cast: rounds toward zero."""
    return np.trunc(values).astype(np.int64)


def polygon_toggles(xy, height: int, width: int) -> np.ndarray:
    """Column-major pixel indices where one polygon's mask switches on or off (pycocotools' rleFrPoly).

    The polygon is traced on a 5× finer grid; wherever the trace crosses a pixel column centre, the
    first pixel below the crossing toggles. Returns the toggle positions (``x·h + y``), unsorted.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    x = _trunc(POLYGON_SCALE * xy[:, 0] + 0.5)
    y = _trunc(POLYGON_SCALE * xy[:, 1] + 0.5)
    x, y = np.append(x, x[0]), np.append(y, y[0])
    us, vs = [], []
    for j in range(len(xy)):
        xs, xe, ys, ye = int(x[j]), int(x[j + 1]), int(y[j]), int(y[j + 1])
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        if dx >= dy:
            step = (ye - ys) / dx if dx else 0.0
            t = np.arange(dx + 1)
            t = dx - t if flip else t
            us.append(t + xs)
            vs.append(_trunc(ys + step * t + 0.5))
        else:
            step = (xe - xs) / dy
            t = np.arange(dy + 1)
            t = dy - t if flip else t
            vs.append(t + ys)
            us.append(_trunc(xs + step * t + 0.5))
    u, v = np.concatenate(us), np.concatenate(vs)
    crossing = np.flatnonzero(u[1:] != u[:-1]) + 1
    column = np.where(u[crossing] < u[crossing - 1], u[crossing], u[crossing] - 1).astype(np.float64)
    column = (column + 0.5) / POLYGON_SCALE - 0.5
    keep = (np.floor(column) == column) & (column >= 0) & (column <= width - 1)
    row = np.minimum(v[crossing], v[crossing - 1]).astype(np.float64)
    row = np.ceil(np.clip((row + 0.5) / POLYGON_SCALE - 0.5, 0, height))
    return (column[keep].astype(np.int64) * height + row[keep].astype(np.int64))


def _toggles_to_mask(toggles: np.ndarray, height: int, width: int) -> np.ndarray:
    hits = np.bincount(toggles, minlength=height * width + 1)[: height * width]
    return (np.cumsum(hits) % 2 == 1).reshape(width, height).T.copy()


def polygon_mask(xy, height: int, width: int) -> np.ndarray:
    """The H×W mask of one polygon ``[x1, y1, x2, y2, …]`` (at least three points)."""
    if len(xy) < 6 or len(xy) % 2:
        raise ValueError(f"a polygon needs an even number of at least 6 coordinates; got {len(xy)}")
    return _toggles_to_mask(polygon_toggles(xy, height, width), height, width)


def segmentation_mask(segmentation, height: int, width: int) -> np.ndarray:
    """Decode any COCO segmentation (polygon list, uncompressed or compressed RLE) to H×W bool."""
    if isinstance(segmentation, list):
        mask = np.zeros((height, width), dtype=bool)
        for polygon in segmentation:
            if not isinstance(polygon, (list, tuple)) or not all(isinstance(v, (int, float)) for v in polygon):
                raise ValueError("polygons are lists of numbers [x1, y1, x2, y2, …], one list per polygon")
            if len(polygon) % 2 or not np.isfinite(polygon).all():
                raise ValueError(f"a polygon needs an even number of finite coordinates; got {len(polygon)}")
            if len(polygon) >= 6:  # fewer than three points enclose nothing (COCO has a few such)
                mask |= polygon_mask(polygon, height, width)
        return mask
    if isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        rle_height, rle_width = (int(s) for s in segmentation["size"])
        if (rle_height, rle_width) != (height, width):
            raise ValueError(f"RLE size {rle_height}×{rle_width} differs from the image's {height}×{width}")
        counts = segmentation["counts"]
        if isinstance(counts, bytes):
            counts = counts.decode("ascii")
        if isinstance(counts, str):
            counts = counts_from_string(counts)
        return decode_counts(counts, height, width)
    raise ValueError("a segmentation is a list of polygons or a dict with 'counts' and 'size'")


def mask_to_polygons(mask: np.ndarray, tolerance: float = 0.75, min_points: int = 3) -> list[list[float]]:
    """Outline polygons of a mask's filled parts, for writing annotations (not an exact inverse)."""
    from skimage.measure import approximate_polygon, find_contours

    padded = np.pad(np.asarray(mask, dtype=float), 1)
    polygons = []
    for contour in find_contours(padded, 0.5):
        contour = approximate_polygon(contour - 1, tolerance)
        if len(contour) - 1 < min_points:
            continue
        # find_contours walks (row, col) around pixel centres; COCO wants x, y
        polygons.append([round(float(c), 2) for point in contour[:-1] for c in (point[1] + 0.5, point[0] + 0.5)])
    return polygons


# ---------------------------------------------------------------- files
@dataclass
class Instance:
    id: int
    image_id: int
    category: str
    segmentation: object
    iscrowd: bool = False


@dataclass
class CocoImage:
    id: int
    file_name: str
    height: int
    width: int
    instances: list[Instance] = field(default_factory=list)


@dataclass
class CocoSet:
    """A COCO-format annotation file, checked: every reference resolves, every field has its type."""

    path: Path
    images: dict[int, CocoImage]
    categories: dict[int, str]

    def instances(self) -> list[Instance]:
        return [inst for image in self.images.values() for inst in image.instances]

    def mask(self, instance: Instance) -> np.ndarray:
        image = self.images[instance.image_id]
        try:
            return segmentation_mask(instance.segmentation, image.height, image.width)
        except (ValueError, TypeError) as error:
            raise UserInputError(f"{self.path}: annotation {instance.id}: {error}; fix or remove that annotation") from None


def _require(condition: bool, path: Path, message: str) -> None:
    if not condition:
        raise UserInputError(f"{path}: {message}")


def read_coco(path: str | Path) -> CocoSet:
    """Read and check a COCO-format instance annotation file (one clear line per problem)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: annotation file not found; pass --annotations with a COCO-format JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserInputError(f"{path}: not valid JSON ({error}); pass a COCO-format instances file") from None
    _require(isinstance(data, dict) and all(isinstance(data.get(k), list) for k in ("images", "annotations", "categories")),
             path, "a COCO-format file needs the lists 'images', 'annotations' and 'categories'")
    categories: dict[int, str] = {}
    for entry in data["categories"]:
        _require(isinstance(entry, dict) and isinstance(entry.get("id"), int) and isinstance(entry.get("name"), str),
                 path, f"category {entry!r} needs an integer 'id' and a string 'name'")
        _require(entry["id"] not in categories, path, f"category id {entry['id']} appears twice; give each its own id")
        categories[entry["id"]] = entry["name"]  # two ids with one name are one category (matched by name)
    images: dict[int, CocoImage] = {}
    for entry in data["images"]:
        ok = isinstance(entry, dict) and isinstance(entry.get("id"), int) and isinstance(entry.get("file_name"), str)
        ok = ok and all(isinstance(entry.get(k), int) and entry[k] > 0 for k in ("height", "width"))
        _require(ok, path, f"image {str(entry)[:80]} needs an integer 'id', a 'file_name' and positive 'height'/'width'")
        _require(entry["id"] not in images, path, f"image id {entry['id']} appears twice; give each its own id")
        images[entry["id"]] = CocoImage(entry["id"], entry["file_name"], entry["height"], entry["width"])
    seen = set()
    for entry in data["annotations"]:
        _require(isinstance(entry, dict) and all(isinstance(entry.get(k), int) for k in ("id", "image_id", "category_id")),
                 path, f"annotation {str(entry)[:80]} needs integer 'id', 'image_id' and 'category_id'")
        _require(entry["id"] not in seen, path, f"annotation id {entry['id']} appears twice; give each its own id")
        seen.add(entry["id"])
        _require(entry["image_id"] in images, path,
                 f"annotation {entry['id']} refers to image {entry['image_id']}, which is not in 'images'; "
                 "add the image or correct its image_id")
        _require(entry["category_id"] in categories, path,
                 f"annotation {entry['id']} refers to category {entry['category_id']}, which is not in 'categories'; "
                 "add the category or correct its category_id")
        _require("segmentation" in entry, path,
                 f"annotation {entry['id']} has no 'segmentation'; add its outline (polygon or RLE)")
        images[entry["image_id"]].instances.append(Instance(
            entry["id"], entry["image_id"], categories[entry["category_id"]], entry["segmentation"],
            bool(entry.get("iscrowd", 0))))
    return CocoSet(path, images, categories)


def write_coco(path: str | Path, images: list[dict], categories: list[str], annotations: list[dict]) -> None:
    """Write a COCO-format file: ``images`` as dicts (file_name, height, width), annotations with
    ``image`` (index into images), ``category`` (a name) and ``segmentation``."""
    from hcl.files import write_atomically

    category_ids = {name: i + 1 for i, name in enumerate(categories)}
    payload = {
        "images": [{"id": i + 1, **image} for i, image in enumerate(images)],
        "categories": [{"id": i, "name": name} for name, i in category_ids.items()],
        "annotations": [],
    }
    for i, ann in enumerate(annotations):
        image = images[ann["image"]]
        mask = segmentation_mask(ann["segmentation"], image["height"], image["width"])
        ys, xs = np.nonzero(mask)
        bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)] if len(xs) else [0, 0, 0, 0]
        payload["annotations"].append({"id": i + 1, "image_id": ann["image"] + 1, "category_id": category_ids[ann["category"]],
                                       "segmentation": ann["segmentation"], "area": int(mask.sum()), "bbox": bbox,
                                       "iscrowd": 0})
    write_atomically(Path(path), (json.dumps(payload, indent=1) + "\n").encode())


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(top, left, bottom, right)`` (exclusive) of a mask's pixels, None when it is empty."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


__all__ = [
    "CocoImage", "CocoSet", "Instance", "bounding_box", "counts_from_string", "counts_to_string", "decode_counts",
    "encode_counts", "encode_rle", "mask_to_polygons", "polygon_mask", "read_coco", "segmentation_mask", "write_coco",
]
