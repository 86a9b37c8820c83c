"""Small helpers the notebooks share: compare a hand-written result with hcl's, show a widget that
also has a static picture for readers without a live kernel, render tables, save figures."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import torch

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def compare(label: str, mine, reference, atol: float = 1e-6, rtol: float = 1e-5) -> float:
    """Print whether ``mine`` equals ``reference`` (exactly, or within tolerance) and the largest
    difference; raise if they differ beyond the tolerance. Returns the largest difference."""
    a = torch.as_tensor(np.asarray(mine) if not torch.is_tensor(mine) else mine).detach().double().cpu()
    b = torch.as_tensor(np.asarray(reference) if not torch.is_tensor(reference) else reference).detach().double().cpu()
    if a.shape != b.shape:
        raise AssertionError(f"{label}: shapes differ {tuple(a.shape)} vs {tuple(b.shape)}")
    exact = torch.equal(a, b)
    close = torch.allclose(a, b, atol=atol, rtol=rtol)
    largest = float((a - b).abs().max()) if a.numel() else 0.0
    print(f"{label:<48} exact: {str(exact):<5}  allclose: {str(close):<5}  max diff: {largest:.2e}")
    if not close:
        raise AssertionError(f"{label}: hand-written and hcl disagree (max diff {largest:.3e})")
    return largest


def figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def display_with_fallback(widget, figure) -> None:
    """Display ``widget`` as one output that carries a static PNG of ``figure`` too.

    A front end that renders widgets (JupyterLab, Notebook, VS Code) shows the live widget and
    ignores the PNG; one that does not (GitHub, nbconvert, papermill's saved notebook) shows the PNG.
    So a reader sees exactly one figure either way."""
    from IPython.display import display

    bundle = {
        "text/plain": f"{type(widget).__name__} (run the notebook in JupyterLab to move it)",
        "image/png": base64.b64encode(figure_png(figure)).decode("ascii"),
        WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id},
    }
    display(bundle, raw=True)


def show_widget(plot, **controls):
    """An ipywidgets ``interactive`` over ``plot`` (a pure function returning a Figure), displayed
    with a static fallback (:func:`display_with_fallback`). Returns the initial Figure (to save)."""
    import matplotlib.pyplot as plt
    import ipywidgets as widgets
    from IPython.display import display

    drawn = []

    def draw(**values):
        figure = plot(**values)
        drawn.append(figure)
        display(figure)
        plt.close(figure)

    interactive = widgets.interactive(draw, **controls)
    interactive.add_class("hcl-widget")
    if not drawn:  # the first draw failed inside the widget: raise its error here, where it shows
        plot(**{name: control.value for name, control in controls.items()})
    display_with_fallback(interactive, drawn[0])
    return drawn[0]


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table (render it with ``IPython.display.Markdown``)."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def show_table(header: list[str], rows: list[list]) -> None:
    from IPython.display import Markdown, display

    display(Markdown(markdown_table(header, rows)))


def save_figure(figure, folder, name: str) -> Path:
    """Save ``figure`` as ``folder/name`` (PNG, 120 dpi), creating the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path


class BlindComparison:
    """A blind A/B test in the spirit of the paper's user study (Table V): pairs of two methods'
    outputs for the same composite, shown in a random order; the reader picks the more natural one;
    the tally is revealed at the end.

    ``images[name]``: a list of H×W×3 arrays (one per composite) for each of the two method names;
    ``masks``: the matching H×W masks. Pure Python state; :meth:`widget` is the thin ipywidgets layer."""

    def __init__(self, images: dict[str, list], masks: list, seed: int = 0):
        if len(images) != 2:
            raise ValueError("a blind comparison needs exactly two methods")
        self.names = list(images)
        self.images, self.masks = images, masks
        rng = np.random.default_rng(seed)
        self.swapped = [bool(s) for s in rng.integers(0, 2, size=len(masks))]  # True: B shows the first method
        self.index, self.revealed = 0, False
        self.votes: dict[str, int] = {name: 0 for name in self.names}

    def order(self, index: int | None = None) -> tuple[str, str]:
        """The method names shown as A and B for pair ``index``."""
        index = self.index if index is None else index
        return (self.names[1], self.names[0]) if self.swapped[index] else (self.names[0], self.names[1])

    def vote(self, side: str) -> None:
        """Record that side 'A' or 'B' of the current pair looked more natural, then move on."""
        if side not in ("A", "B"):
            raise ValueError("vote for 'A' or 'B'")
        self.votes[self.order()[0 if side == "A" else 1]] += 1
        self.index = (self.index + 1) % len(self.masks)

    def figure(self):
        from hcl import viz

        first, second = self.order()
        return viz.ab_figure(self.images[first][self.index], self.images[second][self.index], self.masks[self.index][None],
                             revealed=(first, second) if self.revealed else None,
                             title=f"pair {self.index + 1} of {len(self.masks)}: which looks more natural?")

    def results(self) -> list[list]:
        total = sum(self.votes.values()) or 1
        return [[name, count, f"{100 * count / total:.0f} %"] for name, count in self.votes.items()]

    def widget(self):
        """Buttons A / B / reveal over an output that shows the current pair (and, once revealed, the tally)."""
        import ipywidgets as widgets
        import matplotlib.pyplot as plt
        from IPython.display import Markdown, display

        output = widgets.Output()
        tally = widgets.Label()

        def redraw():
            output.clear_output(wait=True)
            with output:
                figure = self.figure()
                display(figure)
                plt.close(figure)
                if self.revealed:
                    display(Markdown(markdown_table(["method", "votes", "share"], self.results())))
            tally.value = f"{sum(self.votes.values())} votes so far"

        def on_vote(side):
            def handler(_):
                self.vote(side)
                redraw()
            return handler

        def on_reveal(_):
            self.revealed = not self.revealed
            redraw()

        buttons = []
        for label, handler in (("A looks more natural", on_vote("A")), ("B looks more natural", on_vote("B")),
                               ("reveal / hide", on_reveal)):
            button = widgets.Button(description=label, layout=widgets.Layout(width="180px"))
            button.on_click(handler)
            buttons.append(button)
        redraw()
        box = widgets.VBox([widgets.HBox(buttons + [tally]), output])
        box.add_class("hcl-widget")
        return box
