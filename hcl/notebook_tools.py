"""Maintainers' notebook tools (``python -m hcl.notebook_tools``).

- ``strip SRC DST``: copy executed notebooks (``make tutorial``'s ``build/tutorial/``) over the
  committed ones, without papermill's injected-parameters cell, volatile metadata (timings) and
  widget views (no kernel: the static picture stays), so a re-run changes only what it must.
- ``parameterize(notebook, values)``: a copy whose parameters are overridden by a cell inserted right
  after the ``parameters`` cell, as papermill does; its committed outputs stay for nbval to compare.
- ``claims NOTEBOOK…``: every number written in a markdown cell that no output of the same notebook
  shows (nor a code cell sets), so a sentence cannot report a measurement the run did not make.
  A number counts as shown when an output or a code cell holds a number that rounds to it at the
  precision it is written with. Not claims, and skipped: integers up to 10 (counts, 3×3 kernels),
  years, numbers in LaTeX math, code and links, and references (Eq. (10), Eqs. 1–7, Table VI,
  Fig. 2, notebook 05, §7). Numbers that are not measurements of this run (the paper's own results,
  quoted) are declared in the cell by an HTML comment ``<!-- not measured here: 1376 279 -->``.
"""

from __future__ import annotations

import json
import re
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


NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])")
DECLARED = re.compile(r"<!--\s*not measured here:(.*?)-->", re.S)
NOT_PROSE = [
    re.compile(r"<!--.*?-->", re.S),                      # comments (the declarations are read first)
    re.compile(r"```.*?```", re.S),                       # code blocks: commands to type, not claims
    re.compile(r"\$\$.*?\$\$", re.S), re.compile(r"\$[^$\n]+\$"),  # LaTeX math: equations, not claims
    re.compile(r"`[^`\n]*`"),                             # inline code: names, flags, file names
    re.compile(r"\]\([^)]*\)"), re.compile(r"<[^>]+>"),   # link targets, HTML tags
    re.compile(r"https?://\S+"),
    re.compile(r"(?<![\w.])(?:19[5-9]\d|20[0-3]\d)(?![\w.]\d)"),  # years (citations)
    # references to equations, tables, figures, sections and notebooks, with their lists and ranges
    re.compile(r"(?:Eqs?\.?|Equations?|Tables?|Figs?\.?|Figures?|Sections?|§|[Nn]otebooks?|Algorithm)\s*"
               r"\(?[\dIVX]+[a-z]?\)?(?:\s*(?:[,–\-]|and|to|or)\s*\(?[\dIVX]+[a-z]?\)?)*"),
]


def _numbers(text: str) -> list[str]:
    return NUMBER.findall(text.replace(",", ""))


def _evidence(notebook: dict) -> list[float]:
    """Every number that the notebook's outputs show or its code cells set."""
    texts = []
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            continue
        texts.append("".join(cell.get("source", "")))
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            for kind, value in output.get("data", {}).items():
                if kind.startswith("text/"):
                    texts.append("".join(value) if isinstance(value, list) else str(value))
    return [float(n) for text in texts for n in _numbers(text)]


def _shown(claim: str, evidence: list[float]) -> bool:
    value = float(claim)
    if "e" in claim:                                   # "about 1e-16": the order of magnitude
        return any(value / 10 <= abs(e) <= value * 10 for e in evidence if e)
    decimals = len(claim.partition(".")[2])
    return any(abs(round(e, decimals) - value) < 0.5 * 10 ** -decimals + 1e-9 for e in evidence)


def unsupported_claims(notebook: dict) -> list[tuple[int, str, str]]:
    """(cell index, number, the words around it) for each number in markdown that no output shows."""
    evidence = _evidence(notebook)
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell.get("source", ""))
        declared = {n for block in DECLARED.findall(text) for n in _numbers(block)}
        for pattern in NOT_PROSE:
            text = pattern.sub(" ", text)
        plain = text.replace(",", "")
        for match in NUMBER.finditer(plain):
            claim = match.group()
            if (claim.isdigit() and int(claim) <= 10) or claim in declared or _shown(claim, evidence):
                continue
            context = " ".join(plain[max(0, match.start() - 40):match.end() + 30].split())
            found.append((index, claim, context))
    return found


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 3 and argv[0] == "strip":
        for path in strip_folder(argv[1], argv[2]):
            print(f"refreshed {path}")
        return 0
    if len(argv) >= 2 and argv[0] == "claims":
        total = 0
        for path in argv[1:]:
            claims = unsupported_claims(load(path))
            total += len(claims)
            for index, claim, context in claims:
                print(f"{path}: cell {index}: {claim} is in no output: …{context}…")
        print(f"{total} number(s) in markdown that no output shows" if total
              else f"every number in the markdown of {len(argv) - 1} notebook(s) is shown by an output")
        return 1 if total else 0
    print("usage: python -m hcl.notebook_tools strip SRC DST | claims NOTEBOOK…", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
