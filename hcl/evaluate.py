"""Evaluation in the form of the paper's Tables II–IV (section IV-C).

Per image on the 0–255 scale, then the mean over images; "All" weights every test image equally.
Images are resized to the dataset's ``image_size`` (bilinear, antialias), masks nearest, then
binarized. Results are also split by subset and by foreground ratio (0–5 %, 5–15 %, 15–100 %).
Other resolutions (Table IV): the harmonizer runs the network at its own size and carries its
output to the evaluation size (:mod:`hcl.inference`).

Training's validation is this same function with a ``limit``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from hcl.data import IHarmony4, SUBSETS
from hcl.metrics import METRICS, all_metrics, finite_mean

METHODS = ("composite", "fit", "model")  # the input, the boundary fit alone (a baseline), the network
METHOD_LABELS = {"composite": "input composite", "fit": "boundary fit alone (no learning)", "model": "the model (trained)"}
RATIO_BUCKETS = (("0-5%", 0.0, 0.05), ("5-15%", 0.05, 0.15), ("15-100%", 0.15, 1.0001))


@torch.no_grad()
def evaluate(dataset: IHarmony4, harmonizer=None, batch_size: int = 8, convention: str = "default",
             workers: int = 0, progress: bool = True, limit: int | None = None, baselines: bool = False) -> list[dict]:
    """Per-image records: name, subset, foreground ratio, and each metric for ``composite`` (the
    input) and, when a ``harmonizer`` is given, for ``model``: a :class:`hcl.inference.Harmonizer` or a
    network (:class:`hcl.model.HarmonizationNet`, run through its ``harmonize`` at its own size).
    ``baselines``: also ``fit``, the closed-form boundary fit alone (:class:`hcl.baselines.BoundaryFit`,
    at the harmonizer's network size). ``limit``: only the first ``limit`` images."""
    harmonize = None
    if harmonizer is not None:
        harmonize = getattr(harmonizer, "harmonize_tensor", None) or harmonizer.harmonize
    if limit is not None:
        dataset = Subset(dataset, range(min(limit, len(dataset))))
    fit = None
    if baselines:
        from hcl.baselines import BoundaryFit

        net_size = getattr(harmonizer, "net_size", None) or getattr(harmonizer, "image_size", None)
        fit = BoundaryFit(net_size) if net_size else BoundaryFit()
    records = []
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    for batch in tqdm(loader, desc="evaluate", unit="batch", disable=not progress):
        composite, mask, real = batch["composite"], batch["mask"], batch["real"]
        scores = {"composite": all_metrics(composite, real, mask, convention)}
        if fit is not None:
            scores["fit"] = all_metrics(fit.harmonize(composite, mask), real, mask, convention)
        if harmonizer is not None:
            pred = harmonize(composite, mask).cpu()
            scores["model"] = all_metrics(pred, real, mask, convention)
        ratio = mask.flatten(1).mean(1)
        for i, name in enumerate(batch["name"]):
            record = {"name": name, "subset": batch["subset"][i], "fg_ratio": float(ratio[i])}
            for method, values in scores.items():
                record[method] = {metric: float(values[metric][i]) for metric in METRICS}
            records.append(record)
    return records


def _group_means(records: list[dict], method: str, key) -> dict:
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return {group: {m: finite_mean([r[method][m] for r in rows]) for m in METRICS} | {"count": len(rows)}
            for group, rows in groups.items()}


def ratio_bucket(ratio: float) -> str:
    for name, low, high in RATIO_BUCKETS:
        if low <= ratio < high:
            return name
    return RATIO_BUCKETS[-1][0]


def summarize(records: list[dict]) -> dict:
    """``{method: {"All": {...}, "<subset>": {...}}}`` — the JSON of ``hcl evaluate``."""
    methods = [m for m in METHODS if records and m in records[0]]
    summary = {}
    for method in methods:
        per_subset = _group_means(records, method, lambda r: r["subset"])
        ordered = {s: per_subset[s] for s in SUBSETS if s in per_subset}
        summary[method] = {"All": _group_means(records, method, lambda r: "All")["All"], **ordered}
    return summary


def summarize_by_ratio(records: list[dict]) -> dict:
    """``{method: {"0-5%": {...}, "5-15%": {...}, "15-100%": {...}}}``."""
    methods = [m for m in METHODS if records and m in records[0]]
    out = {}
    for method in methods:
        groups = _group_means(records, method, lambda r: ratio_bucket(r["fg_ratio"]))
        out[method] = {name: groups[name] for name, _, _ in RATIO_BUCKETS if name in groups}
    return out


TABLE_METRICS = {"II": ("mse", "psnr"), "III": ("fmse", "fssim")}


def table(summary: dict, which: str = "II", fmt: str = "markdown") -> str:
    """Table II (MSE, PSNR) or III (fMSE, fSSIM) as markdown or CSV; SSIMs shown ×100 as in the paper."""
    metrics = TABLE_METRICS[which]
    groups = [g for g in (*SUBSETS, "All") if any(g in summary[m] for m in summary)]
    header = ["method"] + [f"{g} {m}" for g in groups for m in metrics]
    rows = []
    for method, by_group in summary.items():
        row = [METHOD_LABELS.get(method, method)]
        for group in groups:
            for metric in metrics:
                value = by_group.get(group, {}).get(metric, float("nan"))
                row.append(f"{value * (100 if 'ssim' in metric else 1):.2f}")
        rows.append(row)
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, *rows])
        return buffer.getvalue()
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(summary: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(summary, indent=2) + "\n")
