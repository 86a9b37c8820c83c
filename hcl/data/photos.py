"""Photos that installed packages bundle (and three we ship), with their credits: the raw material of mini-iHarmony4.

Train and test photos are disjoint; the two motorcycle views are one scene and stay together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hcl.data.imageio import read_rgb
from hcl.data.layout import IMAGE_SUFFIXES
from hcl.errors import UserInputError


@dataclass
class Photo:
    name: str
    pixels: np.ndarray  # H×W×3 uint8
    credit: str
    disparity: np.ndarray | None = None  # H×W float, larger = nearer
    outlines: list[Outline] = field(default_factory=list)  # annotated objects, see attach_outlines


@dataclass
class Outline:
    """One annotated object of a photo: its category and its mask at the photo's resolution."""

    id: int
    category: str
    mask: np.ndarray  # H×W bool


CREDITS = {
    "astronaut": "scikit-image `data.astronaut`: Eileen Collins, NASA; public domain.",
    "chelsea": "scikit-image `data.chelsea`: Chelsea the cat, Stefan van der Walt; CC0.",
    "coffee": "scikit-image `data.coffee`: coffee cup, Rachel Michetti (Pikolo Espresso Bar); CC0.",
    "rocket": "scikit-image `data.rocket`: DSCOVR launch on Falcon 9, SpaceX; public domain (CC0).",
    "motorcycle_left": "scikit-image `data.stereo_motorcycle`: Middlebury 2014 stereo benchmark "
    "(Scharstein et al., GCPR 2014); research use, cite the benchmark.",
    "motorcycle_right": "scikit-image `data.stereo_motorcycle`: Middlebury 2014 stereo benchmark "
    "(Scharstein et al., GCPR 2014); research use, cite the benchmark.",
    "china": "scikit-learn `china.jpg`: danielbuechele on Flickr; CC BY 2.0.",
    "flower": "scikit-learn `flower.jpg`: vultilion on Flickr; CC BY 2.0.",
    "grace_hopper": "matplotlib sample data `grace_hopper.jpg`: Grace Hopper, U.S. Navy; public domain.",
    "garden": "Debian `mate-backgrounds` `nature/Garden.jpg` (a marigold), Charles Barbin 2008; GPL-2+; "
    "resized copy in hcl/assets/photos.",
    "ladybird": "Debian `mate-backgrounds` `nature/LadyBird.jpg`, Charles Barbin 2008; GPL-2+; resized copy in hcl/assets/photos.",
    "aqua": "Debian `mate-backgrounds` `nature/Aqua.jpg` (a water crown), Charles Barbin 2008; GPL-2+; "
    "resized copy in hcl/assets/photos.",
}
_MATE = "Debian `mate-backgrounds` 1.26.0 `nature/{file}`, {who}; GPL-2+; resized copy in hcl/assets/photos."
_PLASMA = "Debian `plasma-workspace-wallpapers` 4:5.27.5 `{file}`, {who}; LGPL-3; resized copy in hcl/assets/photos."
# photos without outlines: only generated-region training triples crop them (make-mini --extra-photos)
EXTRA_CREDITS = {
    "dune": _MATE.format(file="Dune.jpg", who="Marco Cogoni 2007, Hylke Bons 2008"),
    "fresh_flower": _MATE.format(file="FreshFlower.jpg", who="Jens Ansorg 2005"),
    "green_meadow": _MATE.format(file="GreenMeadow.jpg", who="Timothy Schellhase 2005, Lapo Calamandrei 2008"),
    "rain_drops": _MATE.format(file="RainDrops.jpg", who="blackcombwhistler07 2008"),
    "two_wings": _MATE.format(file="TwoWings.jpg", who="Charles Barbin, Hylke Bons 2008"),
    "yellow_flower": _MATE.format(file="YellowFlower.jpg", who="Charles Barbin 2008"),
    "blinds": _MATE.format(file="Blinds.jpg", who="Lennart Poettering, Andrea Cimitan 2008"),
    "storm": _MATE.format(file="Storm.jpg", who="Sergey Nazarov 2008"),
    "wood": _MATE.format(file="Wood.jpg", who="Jean-François Fortin Tam 2008"),
    "evening_glow": _PLASMA.format(file="EveningGlow", who="Ian Hex"),
    "fallen_leaf": _PLASMA.format(file="FallenLeaf", who="Martin Klapetek"),
    "kite": _PLASMA.format(file="Kite", who="Risto Saukonpää"),
    "one_stands_out": _PLASMA.format(file="OneStandsOut", who="Risto Saukonpää"),
    "colorful_cups": _PLASMA.format(file="ColorfulCups", who="Dmitri Popov"),
    "forest_path": _PLASMA.format(file="Path", who="Risto Saukonpää"),
    "by_the_water": _PLASMA.format(file="BytheWater", who="Maciej Wiklo"),
    "summer_night": _PLASMA.format(file="summer_1am", who="Risto Saukonpää"),
}
CREDITS.update(EXTRA_CREDITS)
EXTRA_PHOTOS = tuple(EXTRA_CREDITS)
PACKAGED = ("garden", "ladybird", "aqua") + EXTRA_PHOTOS  # copies shipped in hcl/assets/photos (no package bundles them)
PHOTO_FOLDER = Path(__file__).resolve().parent.parent / "assets" / "photos"
BUNDLED_ANNOTATIONS = PHOTO_FOLDER.parent / "bundled_annotations.json"  # our outlines, drawn by tools/annotate_bundled.py
# outlines of objects in ten of the extra photos (tools/rough_outlines_extra.json): make-mini --extra-outlines only
EXTRA_ANNOTATIONS = PHOTO_FOLDER.parent / "extra_annotations.json"

TRAIN_PHOTOS = ("astronaut", "chelsea", "china", "flower", "motorcycle_left", "motorcycle_right", "garden", "ladybird", "aqua")
TEST_PHOTOS = ("coffee", "rocket", "grace_hopper")


def _load_bundled(name: str) -> Photo:
    if name in ("astronaut", "chelsea", "coffee", "rocket"):
        from skimage import data

        return Photo(name, np.ascontiguousarray(getattr(data, name)()), CREDITS[name])
    if name.startswith("motorcycle"):
        from skimage import data

        left, right, disparity = data.stereo_motorcycle()
        pixels = left if name.endswith("left") else right
        # the ground-truth disparity is given for the left view only
        return Photo(name, np.ascontiguousarray(pixels), CREDITS[name], disparity if name.endswith("left") else None)
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return Photo(name, np.ascontiguousarray(load_sample_image(f"{name}.jpg")), CREDITS[name])
    if name in PACKAGED:
        return Photo(name, read_rgb(PHOTO_FOLDER / f"{name}.jpg"), CREDITS[name])
    if name == "grace_hopper":
        import matplotlib.cbook as cbook

        with cbook.get_sample_data("grace_hopper.jpg") as handle:
            return Photo(name, read_rgb(handle.name), CREDITS[name])
    raise KeyError(name)


def bundled_photos() -> dict[str, list[Photo]]:
    """``{'train': [...], 'test': [...]}`` from scikit-image, scikit-learn, matplotlib and hcl/assets/photos."""
    return {"train": [_load_bundled(n) for n in TRAIN_PHOTOS], "test": [_load_bundled(n) for n in TEST_PHOTOS]}


def extra_photos() -> list[Photo]:
    """The packaged extra photos (:data:`EXTRA_PHOTOS`): material for generated-region training triples
    (and, for the ten with outlines, outline training triples: :func:`extra_outlined_photos`), never a test photo."""
    return [_load_bundled(n) for n in EXTRA_PHOTOS]


def extra_outlined_photos(annotations: str | Path | None = None) -> list[Photo]:
    """The extra photos in which we outlined objects (``annotations``, default :data:`EXTRA_ANNOTATIONS`), with
    their outlines: material for object-outline training triples only (make-mini --extra-outlines), never a test photo."""
    if annotations is not None and not Path(annotations).is_file():
        raise UserInputError(f"{annotations}: no such file; pass --extra-annotations a COCO-format outline file")
    annotations = annotations if annotations is not None else EXTRA_ANNOTATIONS
    pool = {"extra": extra_photos()}
    attach_outlines(pool, annotations)
    outlined = [p for p in pool["extra"] if p.outlines]
    if not outlined:
        raise UserInputError(f"{annotations}: outlines none of the extra photos ({', '.join(EXTRA_PHOTOS)}); outline "
                             "at least one of them (file names as the photos' names)")
    return outlined


def split_photos(photos: list[Photo], test_share: float = 0.3) -> dict[str, list[Photo]]:
    """Sorted by name, every ~1/test_share-th photo goes to test (at least one photo each side)."""
    photos = sorted(photos, key=lambda p: p.name)
    every = max(2, round(1 / test_share))
    test = [p for i, p in enumerate(photos) if i % every == every - 1] or photos[-1:]
    return {"train": [p for p in photos if p not in test], "test": test}


def folder_photos(folder: str | Path, test_share: float = 0.3, annotations: str | Path | None = None) -> dict[str, list[Photo]]:
    """A user's own photos, split by :func:`split_photos`. With ``annotations``, photos get their
    outlines first and only photos with at least one outlined object are kept and split."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(f"{folder}: --photos must be a folder of JPEG/PNG photos")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    photos = [Photo(p.stem, read_rgb(p), f"{p.name}: from the user's folder {folder}") for p in files]
    if annotations is not None:
        attach_outlines({"all": photos}, annotations)
        photos = [p for p in photos if p.outlines]
    if len(photos) < 2:
        outlined = " with outlined objects" if annotations is not None else ""
        raise UserInputError(f"{folder}: needs at least 2 photos{outlined} (one for train, one for test); found {len(photos)}")
    return split_photos(photos, test_share)


def attach_outlines(photos: dict[str, list[Photo]], annotations: str | Path) -> list[str]:
    """Give every photo the objects outlined for it in a COCO-format file (matched by file name
    without its suffix; crowd regions are left out). Returns the names of photos without any."""
    from hcl.data.coco import read_coco

    coco = read_coco(annotations)
    by_name = {Path(image.file_name).stem: image for image in coco.images.values()}
    unannotated = []
    for photo in (p for split in photos.values() for p in split):
        image = by_name.get(photo.name)
        if image is None:
            unannotated.append(photo.name)
            continue
        if (image.height, image.width) != photo.pixels.shape[:2]:
            raise UserInputError(f"{coco.path}: image {image.file_name!r} is {image.height}×{image.width} there but the photo "
                                 f"is {photo.pixels.shape[0]}×{photo.pixels.shape[1]}; annotate the photo at its own size")
        photo.outlines = [Outline(inst.id, inst.category, coco.mask(inst)) for inst in image.instances if not inst.iscrowd]
        if not photo.outlines:
            unannotated.append(photo.name)
    return unannotated
