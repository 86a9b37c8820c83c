"""The plotting functions behind the widgets, headless: what each draws, not only that it draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hcl import viz
from hcl.contrastive import HCLLoss
from hcl.data import IHarmony4
from hcl.model import build
from hcl.rundir import read_log
from hcl.tutorial import BlindComparison, markdown_table


@pytest.fixture(scope="module")
def item(mini_root):
    return IHarmony4(mini_root, "test", image_size=64)[0]


@pytest.mark.parametrize("reading", ["spread", "colour"])
def test_patch_explorer_marks_k_cells_per_region_and_names_the_reading(item, reading):
    loss = HCLLoss(k=8, reading=reading)
    fig = viz.patch_explorer(item["composite"], item["real"], item["mask"], k=8, seed=1, loss=loss, composite=item["composite"])
    # per sampled cell: the cell (factor px) and the window the MLP reads around it (window × factor px)
    assert [len(ax.patches) for ax in fig.axes[:2]] == [16, 16]
    sides = sorted({round(p.get_width()) for p in fig.axes[0].patches})
    assert sides == [loss.factor, loss.window * loss.factor]
    title = fig._suptitle.get_text()
    assert f"reading '{reading}'" in title and "L_HCL" in title
    similarity = fig.axes[2].images[0].get_array()
    expected_columns = 8 + (8 if reading == "spread" else 1)  # positives then negatives
    assert similarity.shape == (8, expected_columns)


def test_patch_explorer_accepts_the_factor_8_question(item):
    fig = viz.patch_explorer(item["composite"], item["real"], item["mask"], k=4, factor=8)
    assert "factor = 8" in fig._suptitle.get_text()


def test_outline_changes_only_the_mask_boundary(item):
    picture = viz.outlined(item["composite"], item["mask"])
    plain = item["composite"].permute(1, 2, 0).numpy()
    mask = item["mask"][0].numpy() > 0.5
    changed = np.abs(picture - plain).sum(-1) > 1e-6
    assert not changed[~mask].any()  # the outline is drawn inside the foreground
    assert 0 < changed[mask].mean() < 0.5  # only its border, never a fill
    assert changed.sum() <= (mask ^ np.roll(mask, 1, 0) | mask ^ np.roll(mask, 1, 1)).sum() * 2


def test_architecture_diagram_prints_every_maps_shape():
    net = build("demo")
    fig = viz.architecture_diagram(net, image_size=64)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for j, width in enumerate(net.config.widths):
        assert f"E_{j}  ({width}, {64 // 2 ** j}, {64 // 2 ** j})" in texts
    boxes = [t.get_text() for t in fig.axes[0].texts]
    from hcl.attention import S2AM

    assert boxes.count("S2AM") == sum(isinstance(m, S2AM) for m in net.attention) == 2  # not at the finest stage
    fusions = [b for b in boxes if b.startswith("fusion (external)")]
    assert len(fusions) == len(net.config.widths) - 1
    # every fusion box is fed by its encoder map: one orange arrow from E_j per fusion stage
    from matplotlib.colors import to_hex
    orange = [p for p in fig.axes[0].patches if to_hex(p.get_edgecolor()) == "#e69138"]
    assert len(orange) == len(fusions)


def test_loss_curves_draw_the_composite_level_on_the_validation_curve(tmp_path):
    from hcl.rundir import LOG_COLUMNS

    log = tmp_path / "log.csv"
    rows = [",".join(LOG_COLUMNS)]
    for step in (1, 2, 3):
        values = {"step": step, "epoch": 0, "total": 1, "l1": 0.5 / step, "pixel": 0.6 / step, "hcl": 3,
                  "hcl_accuracy": 0.1 * step, "hcl_chance": 1 / 65, "lr": 1e-3,
                  "seconds": step, "grad_l1": 1, "grad_pixel": 2, "grad_hcl": 1, "share_l1": 0.25, "share_pixel": 0.5,
                  "share_hcl": 0.25, "val_mse": 100, "val_psnr": 30, "val_fmse": 400 - step, "val_composite_mse": 300,
                  "val_composite_fmse": 1234.0}
        rows.append(",".join(str(values[c]) for c in LOG_COLUMNS))
    log.write_text("\n".join(rows) + "\n")
    fig = viz.loss_curves(read_log(log), start={"fmse": 777.0})
    levels = [line.get_ydata()[0] for line in fig.axes[3].lines if len(set(line.get_ydata())) == 1]
    assert 1234.0 in levels and 777.0 in levels
    # L_HCL's panel: the chance value ln(K+1) = ln(65), and the accuracy's chance level 1/65 on its twin axis
    hcl_levels = [line.get_ydata()[0] for line in fig.axes[1].lines if len(set(line.get_ydata())) == 1]
    assert any(abs(v - np.log(65)) < 1e-9 for v in hcl_levels)
    twin_levels = [line.get_ydata()[0] for ax in fig.axes[4:] for line in ax.lines if len(set(line.get_ydata())) == 1]
    assert any(abs(v - 1 / 65) < 1e-9 for v in twin_levels)


def test_result_browser_shows_the_error_map_of_the_chosen_image():
    rng = np.random.default_rng(0)
    preview = {k: rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8) for k in ("composite", "output", "target")}
    preview["mask"] = np.zeros((3, 16, 16), bool)
    preview["mask"][:, 4:12, 4:12] = True
    fig = viz.result_browser(preview, index=2)
    shown = fig.axes[3].images[0].get_array()
    expected = np.clip(np.abs(preview["output"][2] / 255 - preview["target"][2] / 255) * 3, 0, 1)
    assert np.allclose(shown, expected)


def test_blind_comparison_tallies_votes_for_the_method_not_the_side():
    """A reader who always prefers the brighter image votes by what the figure shows, never by side: every
    vote must go to 'theirs' (all ones), however the pairs were shuffled."""
    images = {"mine": [np.full((8, 8, 3), 0.2)] * 6, "theirs": [np.full((8, 8, 3), 0.9)] * 6}
    study = BlindComparison(images, [np.ones((8, 8), bool)] * 6, seed=3)
    assert len({study.order(i) for i in range(6)}) == 2  # both orders occur, so a side-tally would be wrong
    for _ in range(6):
        shown = [ax.images[0].get_array() for ax in study.figure().axes[:2]]
        study.vote("A" if float(np.mean(shown[0][3:5, 3:5])) > float(np.mean(shown[1][3:5, 3:5])) else "B")
    assert study.votes == {"mine": 0, "theirs": 6} and study.index == 0
    assert [row[:2] for row in study.results()] == [["mine", 0], ["theirs", 6]]
    with pytest.raises(ValueError):
        study.vote("C")
    study.revealed = True
    titles = [ax.get_title() for ax in study.figure().axes]
    assert any("mine" in t for t in titles) and any("theirs" in t for t in titles)


def test_blind_comparison_order_is_random_but_seeded():
    images = {"a": [np.zeros((4, 4, 3))] * 20, "b": [np.zeros((4, 4, 3))] * 20}
    first = BlindComparison(images, [np.ones((4, 4), bool)] * 20, seed=1).swapped
    assert first == BlindComparison(images, [np.ones((4, 4), bool)] * 20, seed=1).swapped
    assert 0 < sum(first) < 20


def test_markdown_table_has_a_header_rule_and_one_line_per_row():
    text = markdown_table(["a", "b"], [[1, 2], [3, 4]])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| 1 | 2 |", "| 3 | 4 |"]


def test_fusion_statistics_reports_the_gap_it_plots(item):
    from hcl.fusion import StyleFusion

    torch.manual_seed(0)
    decoder, encoder = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1
    fig = viz.fusion_statistics(decoder, encoder, mask, StyleFusion(4, "rain", residual=False))
    after = fig.axes[1].get_title()
    assert "mean |μ_fg − μ_bg| = 0.00" in after  # RAIN copies the background's statistics exactly


def test_the_blind_comparison_shows_no_mask_until_revealed(item):
    import matplotlib.pyplot as plt

    first, second = item["composite"], item["real"]
    hidden = viz.ab_figure(first, second, item["mask"])
    for ax, picture in zip(hidden.axes, (first, second)):
        assert np.array_equal(np.asarray(ax.images[0].get_array()), viz.image_array(picture))  # no outline drawn
    revealed = viz.ab_figure(first, second, item["mask"], revealed=("one", "other"))
    shown = np.asarray(revealed.axes[0].images[0].get_array())
    assert np.array_equal(shown, viz.image_array(viz.outlined(first, item["mask"])))
    assert not np.array_equal(shown, viz.image_array(first))
    plt.close("all")


def test_last_fifth_mean_averages_the_last_fifth_of_the_rows_and_skips_empty_cells(tmp_path):
    from hcl.rundir import last_fifth_mean, read_log

    path = tmp_path / "log.csv"
    # ten rows: the last fifth is rows 9 and 10; row 10's accuracy is empty (NaN)
    path.write_text("step,hcl_accuracy\n" + "".join(f"{s},{s / 100}\n" for s in range(1, 10)) + "10,\n")
    log = read_log(path)
    assert last_fifth_mean(log, "hcl_accuracy") == pytest.approx(0.09)
    assert last_fifth_mean(log, "step") == pytest.approx(9.5)


def test_smoothing_averages_the_last_window_and_only_what_was_logged_at_the_start():
    values = np.array([4.0, 8.0, 8.0, 8.0, np.nan, 8.0, 2.0])
    filled = np.where(np.isnan(values), np.nanmean(values), values)
    window = 3
    expected = [filled[max(0, i - window + 1):i + 1].mean() for i in range(len(filled))]
    np.testing.assert_allclose(viz._smooth(values, window), expected)
    assert viz._smooth(values, window)[1] == 6.0  # not (4 + 4 + 8) / 3: step 1 is not repeated
