"""The plotting functions behind the widgets run headless and return Figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from hcl import viz
from hcl.data import IHarmony4


@pytest.fixture(scope="module")
def item(mini_root):
    return IHarmony4(mini_root, "test", image_size=64)[0]


def test_patch_explorer_marks_k_cells_per_region(item):
    fig = viz.patch_explorer(item["composite"], item["real"], item["mask"], k=8, seed=1)
    assert isinstance(fig, Figure)
    rectangles = [len(ax.patches) for ax in fig.axes[:2]]
    assert rectangles == [8, 8]
    assert "L_HCL" in fig._suptitle.get_text()


def test_patch_explorer_accepts_the_factor_8_question(item):
    fig = viz.patch_explorer(item["composite"], item["real"], item["mask"], k=4, factor=8)
    assert "factor = 8" in fig._suptitle.get_text()


def test_overlay_changes_only_the_foreground_and_its_outline(item):
    overlay = viz.mask_overlay(item["composite"], item["mask"])
    plain = item["composite"].permute(1, 2, 0).numpy()
    background = (item["mask"][0].numpy() == 0)
    changed = np.abs(overlay - plain).sum(-1) > 1e-6
    assert changed[~background].all()
    assert changed[background].mean() < 0.2  # only the outline


def test_other_figures_build(item, tmp_path):
    assert isinstance(viz.triple_figure(item), Figure)
    assert isinstance(viz.image_grid([[item["composite"], item["real"]]], ["a", "b"]), Figure)
    assert isinstance(viz.feature_maps([torch.rand(1, 4, 8, 8)], item["mask"][None], ["E"]), Figure)
    log = tmp_path / "log.csv"
    log.write_text("step,epoch,total,l1,pixel,hcl,lr,seconds,val_mse,val_psnr,val_fmse\n"
                   "1,0,1,0.5,0.5,3,0.001,1,,,\n2,0,0.9,0.4,0.4,2.9,0.001,2,10,30,100\n")
    assert isinstance(viz.loss_curves(viz.read_log(log)), Figure)
    assert isinstance(viz.bar_comparison({"All": {"composite": 1.0, "model": 0.5}}, "MSE"), Figure)
