"""The package's own layout: which module imports which, and the layer each sits on.

A module's layer is one above the highest of the modules it imports from ``hcl`` (``hcl.config`` and
the other leaves are layer 0), so an import can only point down. ``python -m hcl.layout FIGURE.png``
draws it (README, "Layout"); ``tests/test_layout.py`` checks the rules the layers are for: the model
does not import the data package, training does not import inference, plotting reads no files.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """The ``hcl`` modules a file imports, at any depth of its code (function-level imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "hcl":
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "hcl")
    return found


def import_graph() -> dict[str, set[str]]:
    """``{module: the hcl modules it imports}`` for every module of the package (packages' ``__init__``
    and ``__main__`` left out, and a package import resolved to the modules it names)."""
    paths = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if p.name not in ("__init__.py", "__main__.py")}
    graph = {}
    for name, path in paths.items():
        found = imports(path)
        graph[name] = {m for m in found if m in paths and m != name}
        if "hcl.data" in found:  # "from hcl.data import IHarmony4": the package re-exports the dataset
            graph[name].add("hcl.data.dataset")
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for module in graph[todo.pop()]:
            if module not in seen:
                seen.add(module)
                todo.append(module)
    return seen


def layers(graph: dict[str, set[str]]) -> dict[str, int]:
    level: dict[str, int] = {}

    def visit(name: str, trail: tuple = ()) -> int:
        if name in trail:
            raise ValueError(f"import cycle: {' → '.join(trail + (name,))}")
        if name not in level:
            level[name] = 1 + max((visit(m, trail + (name,)) for m in graph[name]), default=-1)
        return level[name]

    for name in graph:
        visit(name)
    return level


def figure(graph: dict[str, set[str]]):
    """The modules in rows by layer (bottom: layer 0), each with the modules it imports drawn as lines."""
    import matplotlib.pyplot as plt

    level = layers(graph)
    rows: dict[int, list[str]] = {}
    for name in sorted(graph):
        rows.setdefault(level[name], []).append(name)
    width = max(len(r) for r in rows.values())
    fig, ax = plt.subplots(figsize=(1.4 * width + 1, 0.7 * len(rows) + 0.6))
    where = {}
    for row, names in rows.items():
        for i, name in enumerate(names):
            x = (i + 0.5) * width / len(names)
            where[name] = (x, row)
    for name, targets in graph.items():
        for target in targets - {"hcl.errors"}:  # nearly every module imports the errors: left undrawn
            (x0, y0), (x1, y1) = where[name], where[target]
            ax.plot([x0, x1], [y0 - 0.18, y1 + 0.18], color="0.75", lw=0.6, zorder=1)
    for name, (x, y) in where.items():
        ax.text(x, y, name.removeprefix("hcl."), ha="center", va="center", fontsize=7.5, zorder=2,
                bbox={"boxstyle": "round,pad=0.25", "fc": "#dae8fc" if name.startswith("hcl.data") else "#fff2cc",
                      "ec": "0.4", "lw": 0.6})
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_yticks(range(len(rows)), [f"layer {r}" for r in range(len(rows))], fontsize=8)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title("hcl: each module imports only from the rows below it (blue: the data package; imports of "
                 "'errors' not drawn)", fontsize=9)
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m hcl.layout FIGURE.png", file=sys.stderr)
        return 1
    figure(import_graph()).savefig(argv[0], dpi=130, bbox_inches="tight")
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
