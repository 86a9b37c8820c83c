"""``hcl data check ROOT``: validate an iHarmony4 tree before training on it.

Faults found, one line per kind: missing files, unreadable images, size mismatches between a
composite, its mask and its real image, masks that are not single-channel, empty masks.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from hcl.data.imageio import read_mask
from hcl.data.layout import SPLITS, SUBSETS, list_triples
from hcl.errors import UserInputError

FAULT_FIXES = {
    "missing": "restore them or remove their lines from the lists",
    "unreadable": "re-export them as JPEG/PNG",
    "size mismatch": "resize composite, mask and real image of each triple to the same size",
    "not single-channel": "save masks as greyscale PNGs",
    "empty mask": "remove these composites or fix their masks",
}


def _size(path: Path):
    with Image.open(path) as image:
        return image.size


def check_tree(root: str | Path, progress: bool = True):
    """Returns ``(counts, faults)``: counts[subset][split] and faults[kind] = list of paths."""
    root = Path(root)
    counts = {s: {split: 0 for split in SPLITS} for s in SUBSETS}
    faults: dict[str, list[str]] = defaultdict(list)
    triples_by_split = {}
    for split in SPLITS:
        try:
            triples_by_split[split] = list_triples(root, split)
        except UserInputError:
            triples_by_split[split] = []
    if not any(triples_by_split.values()):
        list_triples(root, "train")  # raises the clear error about the layout
    seen: set[Path] = set()
    total = sum(len(t) for t in triples_by_split.values())
    bar = tqdm(total=total, desc="check", unit="triple", disable=not progress)
    for split, triples in triples_by_split.items():
        for triple in triples:
            bar.update(1)
            counts[triple.subset][split] += 1
            sizes = {}
            for path in (triple.composite, triple.mask, triple.real):
                if path in seen and path != triple.composite:
                    continue
                if not path.is_file():
                    faults["missing"].append(str(path))
                    continue
                try:
                    sizes[path] = _size(path)
                except (UnidentifiedImageError, OSError):
                    faults["unreadable"].append(str(path))
            if len(set(sizes.values())) > 1:
                faults["size mismatch"].append(str(triple.composite))
            if triple.mask in sizes and triple.mask not in seen:
                try:
                    if not read_mask(triple.mask).any():
                        faults["empty mask"].append(str(triple.mask))
                except UserInputError:
                    faults["not single-channel"].append(str(triple.mask))
            seen.update((triple.mask, triple.real))
    bar.close()
    return counts, dict(faults)


def format_counts(counts: dict) -> str:
    lines = [f"{'subset':<12}{'train':>8}{'test':>8}"]
    for subset, by_split in counts.items():
        lines.append(f"{subset:<12}{by_split['train']:>8}{by_split['test']:>8}")
    lines.append(f"{'All':<12}{sum(c['train'] for c in counts.values()):>8}{sum(c['test'] for c in counts.values()):>8}")
    return "\n".join(lines)


def format_faults(faults: dict) -> list[str]:
    """One line per kind of fault: how many, the first few files, the fix."""
    lines = []
    for kind, paths in faults.items():
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        lines.append(f"{len(paths)} {kind}: {shown}; {FAULT_FIXES[kind]}")
    return lines
