"""The shipped demo (and any other checkpoint) on colour changes that hcl never makes.

Every composite hcl builds comes from one of its own generators: HCOCO's four colour-transfer families
(:mod:`hcl.data.transfer`) and the retouches of :mod:`hcl.data.colour` (exposure, gamma, white-balance gains,
contrast, hue rotation, saturation). A network trained on them may have learned their fingerprints rather than
harmonization. Someone else's test set changes colours its own way, so this tool keeps each test triple's real
image and mask and rebuilds its composite with one of four changes none of those generators can make:

- ``matrix``: cross-channel mixing, ``x' = M x + b``, each channel picking up a share of the other two
  (diagonal of ``M`` in 0.7-1.3, the other six entries in ±0.25, ``b`` in ±0.1);
- ``curves``: a different smooth monotone tone curve per channel (monotone cubic through five control points: 0
  maps to 0-0.15, 1 to 0.8-1, the three inner points moved up to ±0.25 from the diagonal);
- ``split-toning``: shadows pushed towards one colour and highlights towards another (each shift 0.2-0.4 long),
  by luminance;
- ``fade``: the "vintage" look: blacks lifted 0.05-0.2, 20-60 % of the saturation removed, a warm or cold cast.

Each change is drawn afresh per triple (seeded by the triple's index) and applied inside the mask only, on the
set's test split at the set's size; the composite is written as a JPEG like the mini set's. The composite, the
boundary fit alone and each checkpoint are then scored at 256 px by ``hcl evaluate``'s code. The ranges were set
once, from the composite's fMSE alone on the validation photos (``--baselines-only --data data/mini-drawn-val
--data data/mini-val``), so that each change is at most about as strong as hcl's own (composite fMSE 740 to 1460
there; hcl's own changes 1674 on drawn and 1511 on snapped outlines); no network's score took part.

    python tools/other_colour_changes.py --data data/mini-drawn --data data/mini-iharmony4 \\
        --checkpoint demo=shipped --checkpoint tiny=runs/notebook05-<hash>/checkpoints/last.pt

(``make other-colour-changes``: builds ``data/mini-drawn`` when absent, about 5 minutes on 2 cores.) Nothing is
trained, and nothing is chosen from these numbers: they describe checkpoints fixed before they were measured
(the shipped demo, chosen on validation; notebook 05's run at ``tiny``'s defaults).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from scipy.interpolate import PchipInterpolator

from hcl.data.dataset import IHarmony4
from hcl.data.imageio import read_mask, read_rgb, save_image
from hcl.data.layout import list_triples
from hcl.errors import UserInputError
from hcl.evaluate import evaluate, summarize
from hcl.inference import load_harmonizer

FAMILIES = ("matrix", "curves", "split-toning", "fade")
METRICS = ("fmse", "mse", "psnr", "fssim")
LUMA = np.array([0.299, 0.587, 0.114])
MARKER = ".other-colour-changes"  # in every rebuilt set: only such a folder is replaced


def colour_matrix(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``M x + b`` on N×3 pixels in [0, 1]: every output channel mixes all three inputs."""
    matrix = rng.uniform(-0.25, 0.25, size=(3, 3))
    matrix[np.diag_indices(3)] = rng.uniform(0.7, 1.3, size=3)
    return pixels @ matrix.T + rng.uniform(-0.1, 0.1, size=3)


def tone_curves(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One monotone cubic per channel through (0, y0), (¼, ·), (½, ·), (¾, ·), (1, y1), y0 in 0-0.15, y1 in 0.8-1,
    the inner points moved up to ±0.25 from the diagonal and sorted, so that each curve keeps the order of its
    channel's values."""
    out = np.empty_like(pixels)
    knots = np.linspace(0, 1, 5)
    for channel in range(3):
        inner = np.sort(np.clip(knots[1:4] + rng.uniform(-0.25, 0.25, size=3), 0.02, 0.98))
        values = np.concatenate([[rng.uniform(0, 0.15)], inner, [rng.uniform(0.8, 1.0)]])
        out[:, channel] = PchipInterpolator(knots, np.maximum.accumulate(values))(pixels[:, channel])
    return out


def split_toning(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shadows moved towards one random colour, highlights towards another, weighted by luminance."""
    luminance = (pixels @ LUMA)[:, None]

    def tint() -> np.ndarray:
        direction = rng.normal(size=3)
        return direction / np.linalg.norm(direction) * rng.uniform(0.2, 0.4)

    return pixels + (1 - luminance) * tint() + luminance * tint()


def fade(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blacks lifted, contrast and saturation lowered, then a warm or cold cast (the "vintage" filter)."""
    lift = rng.uniform(0.05, 0.2)
    grey = (pixels @ LUMA)[:, None]
    washed = pixels + rng.uniform(0.2, 0.6) * (grey - pixels)
    cast = np.array([1.0, 1.0, 1.0]) + rng.choice([-1.0, 1.0]) * np.array([1.0, 0.3, -1.0]) * rng.uniform(0.04, 0.12)
    return (lift + (1 - lift) * washed) * cast


CHANGES = {"matrix": colour_matrix, "curves": tone_curves, "split-toning": split_toning, "fade": fade}


def recolour(real: np.ndarray, mask: np.ndarray, family: str, rng: np.random.Generator) -> np.ndarray:
    """``real`` (H×W×3 uint8) with ``family``'s change applied to the pixels under ``mask``; the rest untouched."""
    image = real.astype(np.float64) / 255.0
    image[mask] = np.clip(CHANGES[family](image[mask], rng), 0, 1)
    return np.round(image * 255).astype(np.uint8)


def rebuild(data: Path, family: str, out: Path, seed: int = 0) -> Path:
    """A copy of ``data``'s test split in iHarmony4's layout under ``out``, each composite rebuilt from its real
    image by ``family`` (drawn with seed ``seed`` and the triple's index); masks and real images copied. A test
    split only. ``out`` is replaced if this function made it, refused otherwise."""
    if out.exists():
        if not (out / MARKER).is_file():
            raise UserInputError(f"{out} exists and was not made by this tool: choose another --build folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("rebuilt by tools/other_colour_changes.py; replaced when it runs again\n")
    lines = []
    for index, triple in enumerate(list_triples(data, "test")):
        rng = np.random.default_rng([seed, FAMILIES.index(family), index])
        real = read_rgb(triple.real)
        composite = recolour(real, read_mask(triple.mask, real.shape[:2]), family, rng)
        folder = out / triple.subset
        for kind, source in (("masks", triple.mask), ("real_images", triple.real)):
            (folder / kind).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, folder / kind / source.name)
        (folder / "composite_images").mkdir(parents=True, exist_ok=True)
        save_image(folder / "composite_images" / triple.composite.name, composite)
        lines.append((triple.subset, triple.composite.name))
    (out / "IHD_test.txt").write_text("".join(f"{s}/composite_images/{n}\n" for s, n in lines))  # no train split
    return out


def scores(data: Path, checkpoints: dict[str, str | None]) -> dict:
    """Composite, fit alone and each checkpoint (none: the two baselines only) on ``data``'s test split at 256 px."""
    dataset = IHarmony4(data, "test", image_size=256)
    table = {}
    for name, checkpoint in list(checkpoints.items()) or [(None, None)]:  # none: one pass for the baselines
        harmonizer = None if name is None else load_harmonizer(checkpoint)
        summary = summarize(evaluate(dataset, harmonizer, progress=False, baselines=not table))
        if not table:
            table.update({method: summary[method]["All"] for method in ("composite", "fit")})
        if name is not None:
            table[name] = summary["model"]["All"]
    return {method: {metric: float(row[metric]) for metric in METRICS} for method, row in table.items()}


def main() -> None:
    try:
        run()
    except UserInputError as error:
        raise SystemExit(f"error: {error}") from None


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, help="a set whose test split is recoloured "
                        "(repeat for several)")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH",
                        help="a checkpoint to score (PATH 'shipped': the demo checkpoint hcl ships); default: "
                        "demo=shipped")
    parser.add_argument("--baselines-only", action="store_true", help="score the composite and the fit alone only "
                        "(how strong each change is: its ranges were set on the validation photos this way)")
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated: " + ", ".join(FAMILIES))
    parser.add_argument("--build", default="build/other-colour-changes", help="where the rebuilt sets go")
    parser.add_argument("--out", default="results/other-colour-changes/other_colour_changes.json")
    args = parser.parse_args()
    families = args.families.split(",")
    if set(families) - set(FAMILIES):
        parser.error(f"--families {args.families!r}: choose from {', '.join(FAMILIES)}")
    checkpoints = {}
    for item in [] if args.baselines_only else args.checkpoint or ["demo=shipped"]:
        name, _, path = item.partition("=")
        if not name or not path or (path != "shipped" and not Path(path).is_file()):
            parser.error(f"--checkpoint {item!r}: give NAME=PATH with an existing checkpoint file, or NAME=shipped")
        if name in checkpoints or name in ("composite", "fit"):
            parser.error(f"--checkpoint {item!r}: the name {name!r} is taken; give each checkpoint a name of its own")
        checkpoints[name] = None if path == "shipped" else path
    out_file = Path(args.out)
    if out_file.is_dir():
        parser.error(f"--out {args.out!r} is a folder; give the JSON file to write")
    results = {"checkpoints": {n: p or "shipped" for n, p in checkpoints.items()}, "sets": {}}
    for data in args.data:
        by_family = {}
        for family in families:
            rebuilt = rebuild(Path(data), family, Path(args.build) / f"{Path(data).name}-{family}")
            by_family[family] = scores(rebuilt, checkpoints)
            print(data, family, {m: round(s["fmse"], 1) for m, s in by_family[family].items()}, flush=True)
        by_family["hcl's own changes"] = scores(Path(data), checkpoints)
        print(data, "hcl's own changes", {m: round(s["fmse"], 1) for m, s in by_family["hcl's own changes"].items()})
        results["sets"][data] = by_family
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
