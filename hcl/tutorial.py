"""Small helpers the notebooks share: compare a hand-written result with hcl's, show a widget
together with a static render (so headless runs keep the picture), save figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


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
    print(f"{label:<45} exact: {str(exact):<5}  allclose: {str(close):<5}  max diff: {largest:.2e}")
    if not close:
        raise AssertionError(f"{label}: hand-written and hcl disagree (max diff {largest:.3e})")
    return largest


def show_widget(plot, **controls):
    """An ipywidgets ``interactive`` over ``plot`` (a function returning a Figure), plus one static
    render at the controls' initial values for headless runs (papermill, CI)."""
    import matplotlib.pyplot as plt
    import ipywidgets as widgets
    from IPython.display import display

    def draw(**values):
        figure = plot(**values)
        display(figure)
        plt.close(figure)

    display(widgets.interactive(draw, **controls))
    initial = {name: (c.value if hasattr(c, "value") else c) for name, c in controls.items()}
    figure = plot(**initial)
    return figure


def save_figure(figure, folder, name: str) -> Path:
    """Save ``figure`` as ``folder/name`` (PNG, 120 dpi), creating the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path
