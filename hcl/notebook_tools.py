"""Maintainers' notebook tools (``python -m hcl.notebook_tools``).

- ``strip SRC DST``: copy executed notebooks (``make tutorial``'s ``build/tutorial/``) over the
  committed ones, without papermill's injected-parameters cell, volatile metadata (timings) and
  widget views (no kernel: the static picture stays), so a re-run changes only what it must.
- ``parameterize(notebook, values)``: a copy whose parameters are overridden by a cell inserted right
  after the ``parameters`` cell, as papermill does; its committed outputs stay for nbval to compare.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

VOLATILE_CELL_KEYS = ("papermill", "execution", "ExecuteTime")
VOLATILE_NOTEBOOK_KEYS = ("papermill", "widgets")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def load(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def dump(notebook: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def strip_volatile(notebook: dict) -> dict:
    """The notebook without papermill's injected cell, without run-specific metadata, and without
    widget views: a committed notebook has no live kernel, so each widget keeps only its static
    picture (and a progress bar its text); running the notebook brings the widgets back."""
    cells = [c for c in notebook["cells"] if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for cell in cells:
        for key in VOLATILE_CELL_KEYS:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("execution", None)
                output.get("data", {}).pop(WIDGET_VIEW, None)
    metadata = dict(notebook.get("metadata", {}))
    for key in VOLATILE_NOTEBOOK_KEYS:
        metadata.pop(key, None)
    return {**notebook, "cells": cells, "metadata": metadata}


def parameterize(notebook: dict, values: dict) -> dict:
    """Insert a cell setting ``values`` right after the ``parameters`` cell."""
    cells = list(notebook["cells"])
    index = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "# Parameters for this run (injected)\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items())
    injected = {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["injected-parameters"]},
                "outputs": [], "source": source}
    if notebook.get("nbformat_minor", 0) >= 5:        # nbformat 4.5 gives every cell an id
        injected["id"] = "injected-parameters"
    return {**notebook, "cells": cells[:index + 1] + [injected] + cells[index + 1:]}


def strip_folder(source: str | Path, target: str | Path) -> list[Path]:
    written = []
    for path in sorted(Path(source).glob("0*.ipynb")):
        out = Path(target) / path.name
        dump(strip_volatile(load(path)), out)
        written.append(out)
    return written


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 3 and argv[0] == "strip":
        for path in strip_folder(argv[1], argv[2]):
            print(f"refreshed {path}")
        return 0
    print("usage: python -m hcl.notebook_tools strip SRC DST", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
