"""The Table VI ablation (``hcl ablate``): every row × seed a cached training run of ``demo``
(our own method at CPU size), or of ``tiny`` (the paper's network at CPU size) with ``base='tiny'``,
beside row 0: the input composite and the boundary fit alone (the ``demo`` network untrained; the
image-output network untrained is the composite).

The ladder — L1; +L_pixel; +style fusion; +L_HCL — then row 4 under each other reading of
Eqs. (10)–(11), with S2AM off and in Cun & Pun's placement, fusion replacing the decoder map, the
paper's image output instead of our colour-transform head, and that head reading the network's
features only. A row is written as its *changes* to the ``demo`` preset (whose λ are Eq. 13's), so
the preset stays the one source of every other setting. Each run is evaluated on the test split at
256 px (``test.json``) and leaves a preview for notebook 06's result browser.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from hcl.baselines import BoundaryFit
from hcl.config import DEFAULT_READING, READINGS, RunConfig, preset
from hcl.contrastive import MOMENT_READINGS
from hcl.data import IHarmony4
from hcl.errors import UserInputError
from hcl.data.imageio import read_rgb, save_image
from hcl.evaluate import evaluate, summarize
from hcl.metrics import METRICS
from hcl.rundir import RunDirectory, read_log
from hcl.runcache import run_cached

EVAL_SIZE = 256
# the test inputs shown beside every run's outputs, written once into --out
PREVIEW_FILES = {"composite": "preview_composite.jpg", "target": "preview_target.jpg", "mask": "preview_mask.png"}
BASE = "demo"
BASES = ("demo", "tiny")


def weights_without(*terms: str) -> tuple[float, float, float]:
    """The preset's λ of Eq. (13) with the named terms (``'pixel'``, ``'hcl'``) set to 0."""
    names = ("l1", "pixel", "hcl")
    return tuple(0.0 if name in terms else w for name, w in zip(names, preset(BASE).loss.loss_weights))


LADDER = {
    "1-l1": ("L1 only (Table VI row 1)", dict(loss_weights=weights_without("pixel", "hcl"), fusion="none")),
    "2-pixel": ("+ L_pixel (row 2)", dict(loss_weights=weights_without("hcl"), fusion="none")),
    "3-fusion": ("+ style fusion (row 3)", dict(loss_weights=weights_without("hcl"))),
    "4-hcl": (f"+ L_HCL, reading '{DEFAULT_READING}' (row 4, the full method: the preset itself)", {}),
}
VARIANTS = {
    **{f"4-reading-{reading}": (f"row 4 with the '{reading}' reading", dict(hcl_reading=reading))
       for reading in READINGS if reading != DEFAULT_READING},
    "4-s2am-none": ("row 4 without S2AM", dict(s2am="none")),
    "4-s2am-original": ("row 4 with S2AM placed as in Cun & Pun (middle scales, on skip + decoder)",
                        dict(s2am="original")),
    "4-s2am-full-resolution": ("row 4 with our S2AM also at the finest decoder stage (full resolution)",
                               dict(s2am_full_resolution=True)),
    "4-fusion-replace": ("row 4 with fusion replacing the decoder map (D̂) instead of adding to it (D + D̂)",
                         dict(fusion_residual=False)),
    "4-image-head": ("row 4 predicting the image (the paper's output) instead of a colour transform",
                     dict(head="image")),
    "4-no-statistics": ("row 4 whose colour-transform head reads the network's features only (no boundary fit, "
                        "no region statistics)", dict(head_statistics=False)),
    "4-patch-norm-none": ("row 4 with L_HCL's MLP fed raw windows, not standardized ones (readings of raw "
                          "windows, as tiny's; demo's colour reading never standardizes)", dict(patch_norm="none")),
}
# Figs. 8-9: every style-fusion layer replaced by another block (row 4 is 'external', the paper's)
FUSION_ROWS = {
    "4-fusion-none": ("row 4 with no fusion block (D̂ = D; Figs. 8–9's floor)", dict(fusion="none")),
    # AdaIN's style is the encoder background's statistics, which reach ψ only when ψ is fed them: under
    # psi_input='map' (every preset's) ψ would read the normalized map alone and the block would take no style
    "4-fusion-adain": ("row 4 with AdaIN blocks in place of style fusion (Figs. 8–9), ψ fed the style's statistics",
                       dict(fusion="adain", psi_input="reference")),
    "4-fusion-rain": ("row 4 with RAIN blocks (RainNet) in place of style fusion (Figs. 8–9)", dict(fusion="rain")),
}
# Table VII: K named by the paper's value at 256 px and scaled with the sampling map (row 4 is 256)
PAPER_K_VALUES = (128, 256, 512, 1024)
K_ROWS = {f"4-k-{k}": (f"row 4 with the paper's K = {k} (Table VII), scaled with the sampling map",
                       dict(paper_k=k)) for k in PAPER_K_VALUES if k != 256}

ABLATION_ROWS = {**LADDER, **VARIANTS, **FUSION_ROWS, **K_ROWS}
# the paper's Table VII (iHarmony4): MSE, PSNR, SSIM ×100 by K
PAPER_TABLE_VII = {128: (29.06, 37.00, 98.92), 256: (25.90, 37.50, 99.04), 512: (30.87, 36.79, 98.88),
                   1024: (30.35, 36.69, 98.83)}
# the paper's Table VI (iHarmony4; training length not stated): MSE, PSNR, fSSIM ×100
PAPER_TABLE_VI = {"1-l1": (54.55, 34.56, 85.68), "2-pixel": (42.14, 35.53, 88.14),
                  "3-fusion": (29.08, 37.01, 90.03), "4-hcl": (25.92, 37.50, 90.69)}


def reference_row(row: str) -> str | None:
    """The row a row is compared with: the one above in the ladder, row 4 for the variants."""
    names = list(LADDER)
    if row in LADDER:
        index = names.index(row)
        return names[index - 1] if index else None
    return "4-hcl"


PREVIEW_IMAGES, PREVIEW_SIZE = 8, 128


def write_mosaic(path: Path, images: np.ndarray) -> None:
    """N×H×W×3 uint8 images side by side in one file (JPEG, or PNG for masks)."""
    save_image(path, np.concatenate(list(images), axis=1))


def read_mosaic(path: Path, count: int) -> np.ndarray:
    return np.stack(np.split(read_rgb(path), count, axis=1))


def preview_inputs(data: str, folder: Path) -> None:
    """The first test images' composite, target (JPEG) and mask (PNG) at 128 px, once per ablation."""
    small = IHarmony4(data, "test", image_size=PREVIEW_SIZE)
    items = [small[i] for i in range(min(PREVIEW_IMAGES, len(small)))]
    as_uint8 = lambda t: t.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # noqa: E731
    write_mosaic(folder / PREVIEW_FILES["composite"], np.stack([as_uint8(it["composite"]) for it in items]))
    write_mosaic(folder / PREVIEW_FILES["target"], np.stack([as_uint8(it["real"]) for it in items]))
    write_mosaic(folder / PREVIEW_FILES["mask"], np.stack([as_uint8(it["mask"].expand(3, -1, -1)) for it in items]))


def ablation_preview(folder: str | Path, row: str, seed: int) -> dict:
    """One ablation run's preview for :func:`hcl.viz.result_browser`: composite, output, target, mask."""
    folder = Path(folder)
    results = json.loads((folder / "ablation.json").read_text())
    count = results["settings"].get("preview_images", PREVIEW_IMAGES)
    run = folder / results["rows"][row]["folders"][str(seed)]
    return {"composite": read_mosaic(folder / PREVIEW_FILES["composite"], count),
            "target": read_mosaic(folder / PREVIEW_FILES["target"], count),
            "mask": read_mosaic(folder / PREVIEW_FILES["mask"], count)[..., 0] > 127,
            "output": read_mosaic(run / "preview.jpg", count)}


FEATURES_FILE, FEATURE_IMAGES = "features.json", 8


def fusion_feature_gaps(net, composite: torch.Tensor, mask: torch.Tensor) -> list[dict]:
    """What a trained network's fusion blocks do to the feature statistics (the paper's Figs. 8–10 ask):
    at each decoder stage (coarse → fine), the mean over channels and images of |μ_fg − μ_bg|, the gap
    between the foreground's and the background's channel means, in the decoder map before the block (D)
    and after it (D̂, or D + D̂), divided by the map's mean channel std (both regions) so maps compare."""
    from hcl.stats import masked_mean, masked_mean_std
    from hcl.tensors import resize_mask

    with torch.no_grad():
        maps = net.decode(composite, mask)
    gaps = []
    for before, after in zip(maps["decoder"], maps["fused"]):
        stage_mask = resize_mask(mask, before.shape[-2:], soft=True)
        row = {"channels": before.shape[1], "size": before.shape[-1]}
        for name, fmap in (("before", before), ("after", after)):
            gap = (masked_mean(fmap, stage_mask) - masked_mean(fmap, 1 - stage_mask)).abs().mean(1)  # per image
            spread = masked_mean_std(fmap, torch.ones_like(stage_mask))[1].mean(1)
            row[name] = float((gap / spread).mean())
        gaps.append(row)
    return gaps


def write_feature_gaps(run: Path, data: str, device="cpu") -> list[dict] | None:
    """:func:`fusion_feature_gaps` of a finished run on the first test images at its training size,
    cached in the run folder as ``features.json``; None for a run whose checkpoint is gone."""
    from hcl.inference import load_harmonizer

    cached = Path(run) / FEATURES_FILE
    if cached.is_file():
        return json.loads(cached.read_text())
    checkpoint = RunDirectory(run).checkpoint
    if not Path(checkpoint).is_file():
        return None
    net = load_harmonizer(checkpoint, device).net
    images = IHarmony4(data, "test", image_size=net.image_size)
    items = [images[i] for i in range(min(FEATURE_IMAGES, len(images)))]
    gaps = fusion_feature_gaps(net, *(torch.stack([it[k] for it in items]).to(next(net.parameters()).device)
                                      for k in ("composite", "mask")))
    cached.write_text(json.dumps(gaps, indent=2) + "\n")
    return gaps


def feature_gaps(folder: str | Path, rows: list[str], data: str | None = None) -> dict:
    """``{row: {seed: gaps}}`` for an ablation's runs (``features.json``; written first for runs that
    lack it and still have their checkpoint, when ``data`` is given)."""
    folder = Path(folder)
    results = json.loads((folder / "ablation.json").read_text())
    out = {}
    for row in rows:
        out[row] = {}
        for seed, run in results["rows"][row]["folders"].items():
            path = folder / run / FEATURES_FILE
            gaps = write_feature_gaps(folder / run, data) if data else (
                json.loads(path.read_text()) if path.is_file() else None)
            if gaps is not None:
                out[row][seed] = gaps
    return out


def evaluate_run(run: RunDirectory, data: str, device="cpu") -> dict:
    """Test-split metrics of a run at 256 px (cached in the run folder as ``test.json``) and
    ``preview.jpg``: its outputs for the first test images at 128 px, which notebook 06's result
    browser shows without the checkpoint."""
    from hcl.inference import load_harmonizer

    cached = run.path / "test.json"
    write_feature_gaps(run.path, data, device)
    if cached.is_file() and (run.path / "preview.jpg").is_file():
        return json.loads(cached.read_text())
    harmonizer = load_harmonizer(run.checkpoint, device)
    if not cached.is_file():
        dataset = IHarmony4(data, "test", image_size=EVAL_SIZE)
        scores = summarize(evaluate(dataset, harmonizer, progress=False))
        cached.write_text(json.dumps({"composite": scores["composite"]["All"], "model": scores["model"]["All"]},
                                     indent=2) + "\n")
    small = IHarmony4(data, "test", image_size=PREVIEW_SIZE)
    items = [small[i] for i in range(min(PREVIEW_IMAGES, len(small)))]
    composite, mask = (torch.stack([it[k] for it in items]) for k in ("composite", "mask"))
    output = harmonizer.harmonize_tensor(composite, mask)
    write_mosaic(run.path / "preview.jpg", output.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
    return json.loads(cached.read_text())


def validation_curves(folder: str | Path, rows: list[str]) -> dict:
    """Each row's validation scores during training, read from its runs' ``log.csv`` (an ablation run
    with ``val_every``): ``{row: {seed: {"step", "val_mse", "val_psnr", "val_fmse"}}}``, arrays, plus the
    composite's level under ``"composite"`` (the same validation images for every run)."""
    folder = Path(folder)
    results = json.loads((folder / "ablation.json").read_text())
    curves, composite = {}, None
    for row in rows:
        curves[row] = {}
        for seed, run in results["rows"][row]["folders"].items():
            log = read_log(folder / run / "log.csv")
            validated = np.isfinite(log["val_mse"])
            curves[row][seed] = {key: log[key][validated] for key in ("step", "val_mse", "val_psnr", "val_fmse")}
            composite = {"mse": float(log["val_composite_mse"][validated][-1]),
                         "fmse": float(log["val_composite_fmse"][validated][-1])}
    curves["composite"] = composite
    return curves


def fit_alone_scores(data: str, image_size: int) -> dict:
    """Row 0's second line: the boundary fit alone (no learning) on the test split at 256 px."""
    scores = summarize(evaluate(IHarmony4(data, "test", image_size=EVAL_SIZE), BoundaryFit(image_size), progress=False))
    return scores["model"]["All"]


def ablation_k(image_size: int, paper_k: int = 256) -> int:
    """K scaled with the sampling map: the paper's 256 at 256 px is 64 at 128 px (at least 16)."""
    return max(16, round(paper_k * (image_size / 256) ** 2))


def row_description(row: str, base: str = BASE) -> str:
    """The row's description, naming the base preset's own reading of Eqs. (10)-(11) in row 4."""
    description = ABLATION_ROWS[row][0]
    return description.replace(f"'{DEFAULT_READING}'", f"'{preset(base).loss.hcl_reading}'") if row == "4-hcl" \
        else description


def repeats_row_4(row: str, base: str = BASE) -> bool:
    """True when the row's changes leave ``base`` as it is (e.g. ``4-image-head`` on ``tiny``, whose output is
    already the image; ``4-patch-norm-none`` on ``demo``, whose colour reading never standardizes)."""
    changes = {name: value for name, value in ABLATION_ROWS[row][1].items() if name != "paper_k"}
    if row == "4-hcl" or not changes:
        return False
    start = preset(base)
    moments = start.loss.hcl_reading in MOMENT_READINGS  # their windows are never standardized
    return all(start.flat()[name] == value for name, value in changes.items()) or (
        moments and set(changes) == {"patch_norm"})


def _check_base(base: str) -> None:
    if base not in BASES:
        raise UserInputError(f"--base {base!r}: choose from {', '.join(BASES)}")


def ablation_config(row: str, seed: int, data: str, steps: int, image_size: int, batch_size: int,
                    device: str = "cpu", workers: int = 1, val_every: int | None = None, base: str = BASE) -> RunConfig:
    """``base`` (``demo``, or ``tiny``) with the row's changes; K scaled with the sampling map (256 at
    256 px, 64 at 128 px). The ladder's λ are Eq. (13)'s, the same in both presets."""
    _check_base(base)
    changes = dict(ABLATION_ROWS[row][1])
    k = ablation_k(image_size, changes.pop("paper_k", 256))
    return preset(base, data=data, steps=steps, image_size=image_size, batch_size=batch_size, seed=seed, k=k,
                  device=device, workers=workers, val_every=val_every or steps, save_every=max(1, min(steps, 500)),
                  val_images=16, **changes)


def ablate(data: str, out: str | Path, rows=None, seeds: int = 3, steps: int = 300, image_size: int = 128,
           batch_size: int = 8, device: str = "cpu", workers: int = 1, val_every: int | None = None,
           say=print, base: str = BASE) -> dict:
    """Train and evaluate every row × seed (reusing finished runs); write ``ablation.json`` and
    ``ablation.md`` into ``out``. Returns the JSON's content.

    Rows of an earlier ``ablation.json`` in ``out`` written with the same settings (seeds aside) and not
    named in this call are kept, so rows can be run by separate processes, or with fewer seeds, and
    still end up in one table; each row records its own number of seeds. ``val_every`` validates during
    training (for curves such as Figs. 8–9); by default only at the end. ``base``: the preset every row
    changes (``demo``; ``tiny`` for the ladder on the paper's network)."""
    _check_base(base)
    named = rows is not None
    rows = list(rows or ABLATION_ROWS)
    unknown = [r for r in rows if r not in ABLATION_ROWS]
    if unknown:
        raise UserInputError(f"unknown ablation row(s) {unknown}; list them with: hcl ablate --list")
    repeats = [r for r in rows if repeats_row_4(r, base)]
    if repeats and named:
        raise UserInputError(f"row(s) {repeats} change nothing in --base {base}: they would retrain row 4; drop them")
    rows = [r for r in rows if r not in repeats]
    out = Path(out)
    check_ablation_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    preview_inputs(data, out)
    settings = {"data": str(data), "steps": steps, "image_size": image_size, "batch_size": batch_size,
                "eval_size": EVAL_SIZE, "preview_images": min(PREVIEW_IMAGES, len(IHarmony4(data, "test", image_size=None))),
                "k": ablation_k(image_size), "base": base}
    if val_every:
        settings["val_every"] = val_every
    earlier = _earlier_rows(out / "ablation.json", settings, keep=[r for r in ABLATION_ROWS if r not in rows])
    results = {"settings": {**settings, "seeds": seeds}, "composite": None, "fit_alone": fit_alone_scores(data, image_size),
               "rows": {}}
    for row in rows:
        runs, folders = {}, {}
        for seed in range(seeds):
            config = ablation_config(row, seed, data, steps, image_size, batch_size, device, workers, val_every, base)
            run = run_cached(config, out / "runs", f"{row}-seed{seed}", say=say)
            scores = evaluate_run(run, data)
            results["composite"] = scores["composite"]
            runs[str(seed)] = {m: scores["model"][m] for m in METRICS}
            folders[str(seed)] = str(run.path.relative_to(out))
        values = {m: np.array([r[m] for r in runs.values()]) for m in METRICS}
        results["rows"][row] = {"description": row_description(row, base), "seeds": seeds, "runs": runs, "folders": folders,
                                "mean": {m: float(v.mean()) for m, v in values.items()},
                                "std": {m: float(v.std()) for m, v in values.items()}}
    if earlier:
        say(f"kept {len(earlier)} row(s) of the earlier {out / 'ablation.json'}: {', '.join(earlier)}")
    merged = {**earlier, **results["rows"]}
    results["rows"] = {row: merged[row] for row in ABLATION_ROWS if row in merged}
    results["settings"]["seeds"] = max(values["seeds"] for values in results["rows"].values())
    (out / "ablation.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "ablation.md").write_text(ablation_markdown(results) + "\n")
    say(f"wrote {out / 'ablation.json'} and {out / 'ablation.md'}")
    return results


def check_ablation_folder(out: Path) -> None:
    """``--out`` may hold an earlier ``hcl ablate``'s results (rows are kept or replaced), never a file of
    the user's under the names it writes."""
    if out.exists() and not out.is_dir():
        raise UserInputError(f"{out}: exists and is not a folder; choose another --out")
    results, report = out / "ablation.json", out / "ablation.md"
    if results.exists():
        try:
            earlier = json.loads(results.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            earlier = None
        if not (isinstance(earlier, dict) and "rows" in earlier and "settings" in earlier):
            raise UserInputError(f"{results}: not written by hcl ablate; choose another --out (nothing was changed)")
    else:
        written = [report] + [out / name for name in PREVIEW_FILES.values()]
        for path in written:
            if path.exists():
                raise UserInputError(f"{path}: not written by hcl ablate (no ablation.json beside it); choose another --out")


def _earlier_rows(path: Path, settings: dict, keep: list[str]) -> dict:
    """The rows named in ``keep`` from an earlier ablation.json with the same settings (seeds aside)."""
    if not path.exists():
        return {}
    try:
        earlier = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise UserInputError(f"{path} is not valid JSON; move it away and run again") from None
    earlier_settings = {"base": BASE, **earlier.get("settings", {})}  # written before tiny could be the base
    same = {k: v for k, v in earlier_settings.items() if k != "seeds"} == settings
    if not same:
        return {}
    default_seeds = earlier["settings"].get("seeds")
    return {row: {"seeds": default_seeds, **values} for row, values in earlier.get("rows", {}).items() if row in keep}


def spread_verdict(results: dict, row: str, metric: str = "mse") -> str:
    """One sentence: does the row's difference from its reference exceed the seed spread?"""
    reference = reference_row(row)
    rows = results["rows"]
    if reference is None or reference not in rows:
        composite = results["composite"][metric]
        mean = rows[row]["mean"][metric]
        change = 100 * (1 - mean / composite)
        return (f"{metric.upper()} {mean:.1f} against the composite's {composite:.1f}: "
                f"{abs(change):.0f} % {'lower' if change >= 0 else 'higher'}.")
    a, b = rows[row], rows[reference]
    difference = a["mean"][metric] - b["mean"][metric]
    spread = a["std"][metric] + b["std"][metric]
    verdict = "exceeds" if abs(difference) > spread else "does not exceed"
    direction = "lower (better)" if difference < 0 else "higher (worse)"
    return (f"{metric.upper()} {abs(difference):.1f} {direction} than '{reference}': the difference {verdict} "
            f"the seed spread (sum of the two std, {spread:.1f}).")


def paired_difference(results: dict, row: str, reference: str | None = None, metric: str = "mse") -> dict | None:
    """The row minus its reference, seed by seed (same seed: same data order, and the same initial
    weights wherever the two networks share parts): the per-seed differences, their mean and sample
    std, and a verdict. None when the two rows share no seed."""
    reference = reference or reference_row(row)
    rows = results["rows"]
    if reference is None or reference not in rows:
        return None
    seeds = sorted(set(rows[row]["runs"]) & set(rows[reference]["runs"]), key=int)
    if not seeds:
        return None
    differences = np.array([rows[row]["runs"][s][metric] - rows[reference]["runs"][s][metric] for s in seeds])
    mean = float(differences.mean())
    std = float(differences.std(ddof=1)) if len(seeds) > 1 else float("nan")
    lower = "lower" if metric in ("mse", "fmse") else "higher"  # the better direction
    better = differences < 0 if lower == "lower" else differences > 0
    if better.all() or (~better).all():
        side = "better" if better.all() else "worse"
        beyond = len(seeds) > 1 and abs(mean) > std
        verdict = (f"{side} on all {len(seeds)} seeds" + (", by more than the differences' spread" if beyond else
                                                         ", but by less than the differences' spread"))
    else:
        verdict = f"better on {int(better.sum())} of {len(seeds)} seeds: no effect beyond the seed noise"
    return {"reference": reference, "seeds": seeds, "differences": differences.tolist(), "mean": mean, "std": std,
            "verdict": verdict}


def switch_effects(results: dict, metric: str = "fmse") -> dict[str, dict[str, dict]]:
    """What each of the `demo` preset's switches does, from ``tools/demo_switches.py``'s results (rows: the
    full ``demo`` and, per switch, `demo` with that switch turned back to `tiny`'s value; per seed and kind of
    mask, the scores of ``tools/tiny_recipe.py``'s ``score``). Per switch and kind: ``paired_difference`` of the
    switch turned back minus the full demo (positive: the switch helps), and ``switch``, a verdict worded for
    the switch itself."""
    kinds = list(results["evaluated on"])
    by_kind = {kind: {"rows": {}} for kind in kinds}
    for row in results["rows"]:
        for kind in kinds:
            runs = by_kind[kind]["rows"].setdefault(row["row"], {"runs": {}})["runs"]
            runs[str(row["seed"])] = {metric: row["scores"][kind]["model"][metric]}
    effects = {}
    for name in by_kind[kinds[0]]["rows"]:
        if name == "demo":
            continue
        for kind in kinds:
            paired = paired_difference(by_kind[kind], name, reference="demo", metric=metric)
            if paired is None:  # no seed shared with the full demo: nothing to pair
                continue
            differences = np.array(paired["differences"])
            helps, hurts = int((differences > 0).sum()), int((differences < 0).sum())  # > 0: turning it back is worse
            n = len(differences)
            every = "its one seed" if n == 1 else "both seeds" if n == 2 else f"all {n} seeds"
            paired["switch"] = (f"helps on {every}" if helps == n else f"hurts on {every}" if hurts == n else
                                f"helps on {helps} of {n} seeds, hurts on {hurts}")
            effects.setdefault(name, {})[kind] = paired
    return effects


def paired_sentence(results: dict, row: str, metric: str = "mse") -> str | None:
    paired = paired_difference(results, row, metric=metric)
    if paired is None:
        return None
    values = ", ".join(f"{d:+.1f}" for d in paired["differences"])
    return (f"{metric.upper()} minus '{paired['reference']}', seed by seed: {values} (mean {paired['mean']:+.1f}, "
            f"std {paired['std']:.1f}): {paired['verdict']}.")


def ablation_markdown(results: dict) -> str:
    settings = results["settings"]
    base = settings.get("base", BASE)
    lines = [f"# Table VI in miniature: `{base}`, {settings['steps']} steps at {settings['image_size']} px, batch "
             f"{settings['batch_size']}, K = {settings['k']} (scaled with the sampling map), "
             f"test split at {settings['eval_size']} px (mean ± std over seeds)", "",
             "| row | seeds | ours MSE | ours PSNR | ours fSSIM ×100 | paper MSE | paper PSNR | paper fSSIM ×100 |",
             "|---|---|---|---|---|---|---|---|"]
    composite = results["composite"]
    lines.append(f"| input composite | – | {composite['mse']:.2f} | {composite['psnr']:.2f} | "
                 f"{100 * composite['fssim']:.2f} | 170.25* | 31.70* | – |")
    fit = results.get("fit_alone")
    if fit:
        start = "the `demo` network untrained" if base == "demo" else "the `demo` head's start; untrained `tiny` is the composite"
        lines.append(f"| the boundary fit alone ({start}) | – | {fit['mse']:.2f} | "
                     f"{fit['psnr']:.2f} | {100 * fit['fssim']:.2f} | – | – | – |")
    for row, values in results["rows"].items():
        mean, std = values["mean"], values["std"]
        paper = PAPER_TABLE_VI.get(row)
        paper_cells = " | ".join(f"{p:.2f}" for p in paper) if paper else "– | – | –"
        lines.append(f"| {row}: {values['description']} | {len(values['runs'])} | {mean['mse']:.2f} ± {std['mse']:.2f} | "
                     f"{mean['psnr']:.2f} ± {std['psnr']:.2f} | {100 * mean['fssim']:.2f} ± {100 * std['fssim']:.2f} | "
                     f"{paper_cells} |")
    lines += ["", "*The paper's Table II composite row (all of iHarmony4), for scale.", ""]
    lines += [f"- **{row}**: {spread_verdict(results, row)}" for row in results["rows"]]
    paired = [(row, paired_sentence(results, row)) for row in results["rows"]]
    if any(sentence for _, sentence in paired):
        lines += ["", "Paired by seed:", ""]
        lines += [f"- **{row}**: {sentence}" for row, sentence in paired if sentence]
    return "\n".join(lines)


