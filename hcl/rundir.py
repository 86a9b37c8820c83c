"""A training run's folder and what lies in it::

    OUT/config.json             the RunConfig, as run
    OUT/checkpoints/last.pt     the last checkpoint (atomic writes)
    OUT/log.csv                 every logged step: loss terms, their gradient norms, validation
    OUT/summary.json            written when the run finishes
    OUT/tensorboard/            when TensorBoard is installed

A finished run whose ``config.json`` equals a new configuration is *reused* instead of retrained
(``finished_with``): notebooks and ``hcl ablate`` print ``REUSED`` when they do.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from hcl.config import RunConfig
from hcl.errors import UserInputError

LOG_COLUMNS = ("step", "epoch", "total", "l1", "pixel", "hcl", "hcl_accuracy", "hcl_chance", "lr", "seconds",
               "grad_l1", "grad_pixel", "grad_hcl", "share_l1", "share_pixel", "share_hcl",
               "val_mse", "val_psnr", "val_fmse", "val_composite_mse", "val_composite_fmse")


class RunDirectory:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.checkpoint = self.path / "checkpoints" / "last.pt"
        self.config_file = self.path / "config.json"
        self.log_file = self.path / "log.csv"
        self.summary_file = self.path / "summary.json"

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    def prepare(self, config: RunConfig, resume: bool) -> None:
        """Check the folder suits a new (or resumed) run, create it and write ``config.json``."""
        if not resume and self.checkpoint.exists():
            raise UserInputError(f"{self.checkpoint}: a run already exists in {self.path}; pass --resume to "
                                 "continue it or choose another --out")
        if resume and not self.checkpoint.is_file():
            raise UserInputError(f"{self.checkpoint}: nothing to resume; drop --resume to start a new run")
        if not resume:
            self.check_new()
        self.path.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(json.dumps(config.to_dict(), indent=2) + "\n")

    def check_new(self) -> None:
        """A new run replaces only what an earlier ``hcl train`` left here before its first checkpoint;
        anything else under one of the run's names (a file of the user's, a finished run's records) stops it."""
        if self.path.exists() and not self.path.is_dir():
            raise UserInputError(f"{self.path}: exists and is not a folder; choose another --out")
        if self.summary_file.exists():
            raise UserInputError(f"{self.summary_file}: a finished run's records are in {self.path}; choose another --out")
        records = [f for f in (self.config_file, self.log_file) if f.exists()]
        if records and not self._config_written_by_hcl():
            raise UserInputError(f"{records[0]}: not written by hcl train; choose another --out (nothing was changed)")

    def _config_written_by_hcl(self) -> bool:
        try:
            stored = json.loads(self.config_file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return False
        return isinstance(stored, dict) and all(isinstance(stored.get(name), dict) for name in RunConfig.SECTIONS)

    def stored_config(self) -> dict | None:
        return json.loads(self.config_file.read_text()) if self.config_file.is_file() else None

    def finished_with(self, config: RunConfig) -> bool:
        """True when a finished run with exactly this configuration is here."""
        return self.summary_file.is_file() and self.stored_config() == json.loads(json.dumps(config.to_dict()))

    def summary(self) -> dict:
        return json.loads(self.summary_file.read_text())

    def write_summary(self, summary: dict) -> None:
        self.summary_file.write_text(json.dumps(summary, indent=2) + "\n")

    def open_log(self, resume_step: int) -> "RunLog":
        return RunLog(self.log_file, resume_step)


def read_log(path: str | Path) -> dict[str, np.ndarray]:
    """A training run's ``log.csv`` as columns (empty cells → NaN)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: np.array([float(r[key]) if r[key] not in ("", None) else np.nan for r in rows]) for key in rows[0]}


def last_fifth_mean(log: dict[str, np.ndarray], key: str) -> float:
    """The mean of a :func:`read_log` column over the last fifth of the logged rows (NaN cells skipped)."""
    return float(np.nanmean(log[key][-max(1, len(log[key]) // 5):]))


class RunLog:
    """``log.csv``, appended row by row; a resumed run drops rows past its step (they are redone)."""

    def __init__(self, path: Path, resume_step: int):
        rows = []
        if path.is_file() and resume_step > 0:
            with open(path, newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= resume_step]
        self.handle = open(path, "w", newline="")
        self.writer = csv.DictWriter(self.handle, fieldnames=LOG_COLUMNS, extrasaction="ignore")
        self.writer.writeheader()
        self.writer.writerows(rows)
        self.handle.flush()
        self.board = _tensorboard(path.parent)

    def write(self, row: dict) -> None:
        self.writer.writerow(row)
        self.handle.flush()
        if self.board is not None:
            for key, value in row.items():
                if key not in ("step", "epoch") and value not in ("", None):
                    self.board.add_scalar(key, value, row["step"])

    def close(self) -> None:
        self.handle.close()
        if self.board is not None:
            self.board.close()


def _tensorboard(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # noqa: BLE001 - tensorboard is optional
        return None
    return SummaryWriter(str(folder / "tensorboard"))
