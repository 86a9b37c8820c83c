"""The iHarmony4 folder layout (section IV-B) and its naming rule.

Root holds ``IHD_train.txt`` / ``IHD_test.txt`` (lines like
``HCOCO/composite_images/c100300_1602094_1.jpg``) and one folder per subset with
``composite_images/``, ``masks/``, ``real_images/`` and ``<Subset>_<split>.txt`` (bare file names).

A composite ``<realid>_<maskid>_<k>.jpg`` has the mask ``<realid>_<maskid>.png`` and the real image
``<realid>.jpg``. Hday2night ids contain ``-`` and ids may contain ``_`` only in the real id,
so the name is parsed from the right.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hcl.errors import UserInputError

SUBSETS = ("HCOCO", "HAdobe5k", "HFlickr", "Hday2night")
SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Triple:
    """One training or test example: where its three files lie."""

    subset: str
    composite: Path
    mask: Path
    real: Path

    @property
    def name(self) -> str:
        return self.composite.name


def split_composite_name(file_name: str) -> tuple[str, str, str]:
    """``'d90000012-181_1_7.jpg'`` → ``('d90000012-181', '1', '7')``, parsing from the right."""
    stem = Path(file_name).stem
    parts = stem.rsplit("_", 2)
    if len(parts) != 3 or not all(parts):
        raise UserInputError(
            f"{file_name}: composite names must read <realid>_<maskid>_<k>.jpg (iHarmony4 naming); rename the file"
        )
    return parts[0], parts[1], parts[2]


def triple_for(root: Path, subset: str, composite_name: str) -> Triple:
    """Map a composite file name of ``subset`` to its mask and real image by the naming rule."""
    real_id, mask_id, _ = split_composite_name(composite_name)
    folder = Path(root) / subset
    suffix = Path(composite_name).suffix or ".jpg"
    return Triple(
        subset=subset,
        composite=folder / "composite_images" / composite_name,
        mask=folder / "masks" / f"{real_id}_{mask_id}.png",
        real=folder / "real_images" / f"{real_id}{suffix}",
    )


def _read_list(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise UserInputError(f"{path}: not a text file; it must hold one composite path per line") from None
    return [line.strip() for line in lines if line.strip()]


def list_triples(root: str | Path, split: str, subsets=None) -> list[Triple]:
    """All triples of ``split``, from ``IHD_<split>.txt`` if present, else from per-subset lists.

    ``subsets``: names to keep (default: all four). Order follows the list files.
    """
    root = Path(root)
    if split not in SPLITS:
        raise UserInputError(f"split {split!r} is not one of {SPLITS}; pass --split train or --split test")
    if not root.is_dir():
        raise UserInputError(f"{root}: no such folder; point --data at an iHarmony4 root (or build one: hcl data make-mini {root})")
    wanted = tuple(SUBSETS if subsets is None else ([subsets] if isinstance(subsets, str) else subsets))
    unknown = [s for s in wanted if s not in SUBSETS]
    if unknown:
        raise UserInputError(f"unknown subset(s) {unknown}; choose from {list(SUBSETS)}")

    triples: list[Triple] = []
    root_list = root / f"IHD_{split}.txt"
    if root_list.is_file():
        for line in _read_list(root_list):
            subset, _, name = line.replace("\\", "/").partition("/composite_images/")
            if not name or subset not in SUBSETS:
                raise UserInputError(
                    f"{root_list}: line {line!r} is not <Subset>/composite_images/<name>; fix or remove it"
                )
            if subset in wanted:
                triples.append(triple_for(root, subset, name))
    else:
        found_any = False
        for subset in wanted:
            subset_list = root / subset / f"{subset}_{split}.txt"
            if subset_list.is_file():
                found_any = True
                triples.extend(triple_for(root, subset, Path(n).name) for n in _read_list(subset_list))
        if not found_any:
            raise UserInputError(
                f"{root}: neither IHD_{split}.txt nor <Subset>/<Subset>_{split}.txt found; "
                "is this an iHarmony4 root? (build one with: hcl data make-mini OUT)"
            )
    if not triples:
        raise UserInputError(f"{root}: the {split} lists name no composite of subsets {list(wanted)}")
    return triples
