"""evaluate and harmonize from the command line: outputs, sizes, and every bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from hcl.checkpoint import load_checkpoint, save_checkpoint
from hcl.cli import main
from hcl.config import preset
from hcl.model import build
from tests.conftest import files_with_bytes, users_output_folder


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny network whose head changes colours (so harmonization visibly changes pixels)."""
    import torch

    torch.manual_seed(0)
    config = preset("demo", image_size=64)
    net = build(config.model)
    torch.nn.init.normal_(net.head.mlp[-1].weight, std=0.05)
    path = tmp_path_factory.mktemp("ckpt") / "net.pt"
    save_checkpoint({"model": net.state_dict(), "config": config.to_dict(), "step": 0}, path)
    return path


def _write_pair(folder, width, height, seed=0):
    rng = np.random.default_rng(seed)
    composite = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4: height // 2, width // 3: 2 * width // 3] = 255
    Image.fromarray(composite).save(folder / "composite.png")
    Image.fromarray(mask).save(folder / "mask.png")
    return composite, mask > 0


@pytest.mark.parametrize("width,height", [(1024, 768), (333, 257), (64, 64)])
def test_harmonize_keeps_size_and_every_background_byte(tmp_path, checkpoint, width, height):
    composite, mask = _write_pair(tmp_path, width, height)
    out = tmp_path / "out.png"
    assert main(["harmonize", "--checkpoint", str(checkpoint), "--composite", str(tmp_path / "composite.png"),
                 "--mask", str(tmp_path / "mask.png"), "--out", str(out), "--device", "cpu"]) == 0
    result = np.asarray(Image.open(out))
    assert result.shape == composite.shape
    assert np.array_equal(result[~mask], composite[~mask])
    assert not np.array_equal(result[mask], composite[mask])


def test_harmonize_uses_the_demo_checkpoint_by_default(tmp_path):
    _write_pair(tmp_path, 96, 80)
    assert main(["harmonize", "--composite", str(tmp_path / "composite.png"), "--mask", str(tmp_path / "mask.png"),
                 "--out", str(tmp_path / "out.jpg"), "--device", "cpu"]) == 0
    assert Image.open(tmp_path / "out.jpg").size == (96, 80)


BAD_INPUTS = {
    "mask of another size": lambda d: Image.fromarray(np.zeros((10, 10), np.uint8)).save(d / "mask.png"),
    "unreadable image": lambda d: (d / "composite.png").write_bytes(b"\x89PNG broken"),
    "missing mask": lambda d: (d / "mask.png").unlink(),
    "empty mask": lambda d: Image.fromarray(np.zeros((80, 96), np.uint8)).save(d / "mask.png"),
    "colour mask": lambda d: Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 96, 3), dtype=np.uint8)).save(d / "mask.png"),
    "missing checkpoint": None,
    "existing output": None,
}


@pytest.mark.parametrize("problem", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_exit_1_no_traceback_and_nothing_overwritten(tmp_path, checkpoint, problem):
    _write_pair(tmp_path, 96, 80)
    out = tmp_path / "out.png"
    ckpt = str(checkpoint)
    if BAD_INPUTS[problem] is not None:
        BAD_INPUTS[problem](tmp_path)
    if problem == "missing checkpoint":
        ckpt = str(tmp_path / "nope.pt")
    if problem == "existing output":
        out.write_bytes(b"precious")
    result = subprocess.run([sys.executable, "-m", "hcl", "harmonize", "--checkpoint", ckpt,
                             "--composite", str(tmp_path / "composite.png"), "--mask", str(tmp_path / "mask.png"),
                             "--out", str(out), "--device", "cpu"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hcl: error:")
    named = {"missing checkpoint": "nope.pt", "existing output": "out.png", "unreadable image": "composite.png"}.get(problem, "mask.png")
    assert named in lines[0]
    fix = {"mask of another size": "resize the mask", "unreadable image": "re-export it", "missing mask": "check the path",
           "empty mask": "paint the foreground white", "colour mask": "single-channel", "missing checkpoint": "hcl train",
           "existing output": "--force"}[problem]
    assert fix in lines[0], lines[0]  # the line says what to do, not only what is wrong
    if problem == "existing output":
        assert out.read_bytes() == b"precious"
    else:
        assert not out.exists()


def test_evaluate_writes_the_documented_json(mini_root, checkpoint, tmp_path, capsys):
    target = tmp_path / "scores.json"
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(mini_root), "--image-size", "64",
                 "--json", str(target), "--device", "cpu"]) == 0
    scores = json.loads(target.read_text())
    assert set(scores) == {"composite", "fit", "model"}  # the input, the boundary fit alone (a baseline), the network
    for method in scores.values():
        assert {"All", "HCOCO", "HAdobe5k", "HFlickr", "Hday2night"} <= set(method)
        assert {"mse", "psnr", "fmse", "ssim", "fssim"} <= set(method["All"])
    assert "PSNR convention: default" in capsys.readouterr().out


def test_evaluate_writes_tables_in_markdown_and_csv(mini_root, checkpoint, tmp_path):
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(mini_root), "--image-size", "64",
                 "--tables", str(tmp_path / "tables"), "--device", "cpu"]) == 0
    csv_rows = (tmp_path / "tables" / "table_II.csv").read_text().splitlines()
    assert csv_rows[0].startswith("method,HCOCO mse,HCOCO psnr") and csv_rows[1].startswith("input composite,")
    assert (tmp_path / "tables" / "table_III.md").read_text().startswith("| method | HCOCO fmse")


@pytest.mark.parametrize("problem", ["json exists", "json folder missing", "json is a folder", "tables exist",
                                     "tables is a file"])
def test_evaluate_refuses_outputs_it_would_overwrite_before_evaluating(mini_root, checkpoint, tmp_path, problem):
    mine = tmp_path / "mine"
    mine.mkdir()
    if problem == "json exists":
        (mine / "user.json").write_text("mine")
        flags, named = ["--json", str(mine / "user.json")], "user.json"
    elif problem == "json folder missing":
        flags, named = ["--json", str(tmp_path / "absent" / "scores.json")], "absent"
    elif problem == "json is a folder":
        flags, named = ["--json", str(mine)], "mine"
    elif problem == "tables exist":
        (mine / "table_III.csv").write_text("mine")
        flags, named = ["--tables", str(mine)], "table_III.csv"
    else:
        (tmp_path / "tables").write_text("mine")
        flags, named = ["--tables", str(tmp_path / "tables")], "tables"
    before = files_with_bytes(tmp_path)
    result = subprocess.run([sys.executable, "-m", "hcl", "evaluate", "--checkpoint", str(checkpoint), "--data",
                             str(mini_root), "--image-size", "64", "--device", "cpu", *flags],
                            capture_output=True, text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("hcl: error:") and named in lines[0]
    assert "Table" not in result.stdout  # refused before the evaluation ran
    assert files_with_bytes(tmp_path) == before


def test_evaluate_force_replaces_its_outputs(mini_root, checkpoint, tmp_path):
    (tmp_path / "scores.json").write_text("old")
    (tmp_path / "table_II.md").write_text("old")
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(mini_root), "--image-size", "64",
                 "--json", str(tmp_path / "scores.json"), "--tables", str(tmp_path), "--device", "cpu", "--force"]) == 0
    assert set(json.loads((tmp_path / "scores.json").read_text())) == {"composite", "fit", "model"}
    assert (tmp_path / "table_II.md").read_text().startswith("| method |")


def test_evaluate_at_another_resolution_runs_the_net_at_its_own(mini_root, checkpoint, tmp_path, monkeypatch):
    """--image-size sets the size the scores are computed at (128 here); the network still sees its training size
    (64, the checkpoint's), as `hcl harmonize` runs it on a photo of any size."""
    import hcl.evaluate
    from hcl.model import HarmonizationNet

    seen_by_net, scored = set(), set()
    decode, all_metrics = HarmonizationNet.decode, hcl.evaluate.all_metrics

    def recording_decode(self, image, mask):
        seen_by_net.add(tuple(image.shape[-2:]))
        return decode(self, image, mask)

    def recording_metrics(pred, target, mask, convention="default"):
        scored.add(tuple(pred.shape[-2:]))
        return all_metrics(pred, target, mask, convention)

    monkeypatch.setattr(HarmonizationNet, "decode", recording_decode)
    monkeypatch.setattr(hcl.evaluate, "all_metrics", recording_metrics)
    target = tmp_path / "scores.json"
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(mini_root), "--image-size", "128",
                 "--json", str(target), "--device", "cpu"]) == 0
    assert seen_by_net == {(64, 64)} and scored == {(128, 128)}
    assert json.loads(target.read_text())["model"]["All"]["mse"] > 0


def test_every_command_has_help():
    for command in (["data", "make-mini"], ["data", "check"], ["data", "resize"], ["train"], ["ablate"], ["evaluate"],
                    ["harmonize"]):
        result = subprocess.run([sys.executable, "-m", "hcl", *command, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "usage: hcl" in result.stdout


@pytest.mark.slow
def test_train_resume_evaluate_harmonize_from_the_command_line(mini_root, tmp_path):
    """The whole path a user takes, each step a fresh ``python -m hcl`` process."""
    def hcl(*args):
        done = subprocess.run([sys.executable, "-m", "hcl", *map(str, args)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    run = tmp_path / "run"
    common = ("train", "--config", "tiny", "--data", mini_root, "--out", run, "--batch-size", 2,
              "--image-size", 32, "--workers", 0, "--device", "cpu", "--val-every", 2, "--colour-jitter", 0.1)
    hcl(*common, "--steps", 2)
    hcl(*common, "--steps", 4, "--resume")
    checkpoint_path = run / "checkpoints" / "last.pt"
    state = load_checkpoint(checkpoint_path)
    assert state["step"] == 4 and state["config"]["data"]["colour_jitter"] == 0.1
    log_steps = [line.split(",")[0] for line in (run / "log.csv").read_text().splitlines()[1:]]
    assert log_steps == sorted(log_steps, key=int) and log_steps[-1] == "4"

    report = tmp_path / "report.json"
    hcl("evaluate", "--checkpoint", checkpoint_path, "--data", mini_root, "--image-size", 64, "--json", report)
    scores = json.loads(report.read_text())
    assert set(scores) == {"composite", "fit", "model"} and np.isfinite(scores["model"]["All"]["fmse"])

    composite, mask = _write_pair(tmp_path, 100, 70)
    out = tmp_path / "harmonized.png"
    hcl("harmonize", "--checkpoint", checkpoint_path, "--composite", tmp_path / "composite.png",
        "--mask", tmp_path / "mask.png", "--out", out)
    result = np.asarray(Image.open(out))
    assert result.shape == composite.shape
    assert np.array_equal(result[~mask], composite[~mask])


def test_ablate_lists_its_rows_name_first():
    done = subprocess.run([sys.executable, "-m", "hcl", "ablate", "--list"], capture_output=True, text=True)
    from hcl.ablation import ABLATION_ROWS

    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.strip().splitlines()] == list(ABLATION_ROWS)


@pytest.mark.slow
def test_ablate_twice_reuses_every_finished_run_and_deletes_nothing(mini_root, tmp_path):
    out = tmp_path / "ablation"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    args = ["ablate", "--data", str(mini_root), "--out", str(out), "--rows", "1-l1,4-hcl", "--seeds", "2",
            "--steps", "2", "--image-size", "32", "--batch-size", "2", "--workers", "0"]
    first = subprocess.run([sys.executable, "-m", "hcl", *args], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "REUSED" not in first.stdout
    second = subprocess.run([sys.executable, "-m", "hcl", *args], capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.count("REUSED") == 4 and "training" not in second.stdout
    results = json.loads((out / "ablation.json").read_text())
    assert set(results["rows"]) == {"1-l1", "4-hcl"}
    for row in results["rows"].values():
        assert set(row["runs"]) == {"0", "1"}
        assert {"mse", "psnr", "fmse", "ssim", "fssim"} <= set(row["mean"]) and set(row["std"]) == set(row["mean"])
        mse = [run["mse"] for run in row["runs"].values()]
        assert row["mean"]["mse"] == pytest.approx(np.mean(mse)) and row["std"]["mse"] == pytest.approx(np.std(mse))
    assert {"mse", "fmse"} <= set(results["composite"])
    # row 0: the composite and the boundary fit alone, which changes the foreground (so differs from the composite)
    assert {"mse", "fmse"} <= set(results["fit_alone"]) and results["fit_alone"]["fmse"] != results["composite"]["fmse"]
    table = (out / "ablation.md").read_text()
    assert "Table VI" in table and "| the boundary fit alone" in table and (out / "mine.txt").read_text() == "keep me"
    # each run's fusion feature statistics, one entry per decoder stage; without fusion (1-l1) D̂ = D
    for row, values in results["rows"].items():
        for folder in values["folders"].values():
            gaps = json.loads((out / folder / "features.json").read_text())
            assert len(gaps) == 3 and all(np.isfinite([g["before"], g["after"]]).all() for g in gaps)
            if row == "1-l1":
                assert all(g["before"] == g["after"] for g in gaps)


@pytest.mark.slow
def test_ablate_validates_every_n_steps_for_the_curves(mini_root, tmp_path):
    from hcl.ablation import validation_curves

    out = tmp_path / "curves"
    done = subprocess.run([sys.executable, "-m", "hcl", "ablate", "--data", str(mini_root), "--out", str(out),
                           "--rows", "4-fusion-adain", "--seeds", "1", "--steps", "4", "--val-every", "2",
                           "--image-size", "32", "--batch-size", "2", "--workers", "0"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    curves = validation_curves(out, ["4-fusion-adain"])
    assert list(curves["4-fusion-adain"]["0"]["step"]) == [2, 4]
    assert np.isfinite(curves["4-fusion-adain"]["0"]["val_mse"]).all() and curves["composite"]["mse"] > 0
    assert json.loads((out / "ablation.json").read_text())["settings"]["val_every"] == 2


def test_table_vii_rows_scale_the_papers_k_with_the_sampling_map():
    from hcl.ablation import ablation_config

    for image_size, row, k in ((128, "4-k-128", 32), (128, "4-k-1024", 256), (256, "4-k-512", 512), (128, "4-hcl", 64)):
        assert ablation_config(row, 0, "data", 10, image_size, 2).loss.k == k
    assert ablation_config("4-fusion-rain", 0, "data", 10, 128, 2).model.fusion == "rain"


def test_the_ladder_on_tiny_changes_the_papers_network_and_names_its_reading():
    from hcl.ablation import ablation_config, row_description
    from hcl.config import preset
    from hcl.errors import UserInputError

    l1 = ablation_config("1-l1", 0, "data", 10, 128, 2, base="tiny")
    assert l1.model.head == "image" and l1.model.s2am == "original" and l1.loss.loss_weights == (0.4, 0.0, 0.0)
    assert l1.model.fusion == "none" and l1.optim.lr == preset("tiny").optim.lr
    raw = ablation_config("4-patch-norm-none", 1, "data", 10, 128, 2, base="tiny")
    assert raw.loss.patch_norm == "none" and raw.loss.hcl_reading == "spread" and raw.seed == 1
    assert "'spread'" in row_description("4-hcl", "tiny") and "'colour'" in row_description("4-hcl", "demo")
    with pytest.raises(UserInputError, match="--base"):
        ablation_config("4-hcl", 0, "data", 10, 128, 2, base="paper")
    from hcl.ablation import ablate, repeats_row_4

    for row, base in (("4-image-head", "tiny"), ("4-s2am-original", "tiny"), ("4-patch-norm-none", "demo")):
        assert repeats_row_4(row, base)  # row 4 of that base again
    assert not any(repeats_row_4(row, "demo") for row in ("4-hcl", "4-image-head", "4-k-128", "1-l1"))
    assert not repeats_row_4("4-patch-norm-none", "tiny")
    with pytest.raises(UserInputError, match="change nothing"):  # refused before anything is written
        ablate("no-such-data", "no-such-out", ["4-hcl", "4-image-head"], base="tiny")


def test_fusion_feature_gaps_are_the_region_mean_gap_over_the_maps_spread():
    import torch

    from hcl.ablation import fusion_feature_gaps

    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1  # the top half is the foreground
    before = torch.zeros(1, 2, 4, 4)
    before[:, 0, :2] = 2.0  # channel 0: foreground 2, background 0 → gap 2, population std 1
    after = before.clone()
    after[:, 0, :2] = 0.0  # the block removed the gap

    class Stub:
        def decode(self, composite, mask):
            return {"decoder": [before], "fused": [after]}

    gaps = fusion_feature_gaps(Stub(), torch.zeros(1, 3, 4, 4), mask)
    # mean over channels of |μ_fg − μ_bg| = (2 + 0) / 2 = 1; mean channel std = (sqrt(1 + 1e-5) + sqrt(1e-5)) / 2
    spread = (np.sqrt(1 + 1e-5) + np.sqrt(1e-5)) / 2
    assert gaps[0]["before"] == pytest.approx(1 / spread, rel=1e-5) and gaps[0]["after"] == 0.0
    assert gaps[0]["size"] == 4 and gaps[0]["channels"] == 2


@pytest.mark.parametrize("owned", ["ablation.json", "ablation.md", "preview_mask.png", "OUT is a file"])
def test_ablate_refuses_a_folder_holding_files_it_did_not_write(tmp_path, capsys, owned):
    out, before = users_output_folder(tmp_path, owned)
    assert main(["ablate", "--data", "no-such-data", "--out", str(out), "--rows", "1-l1"]) == 1
    message = capsys.readouterr().err.strip()
    assert message.startswith("hcl: error:") and "\n" not in message and "choose another --out" in message
    assert files_with_bytes(tmp_path) == before


@pytest.mark.slow
def test_ablate_keeps_rows_of_an_earlier_call_with_the_same_settings_only(mini_root, tmp_path):
    out = tmp_path / "ablation"
    common = ["--data", str(mini_root), "--out", str(out), "--image-size", "32", "--batch-size", "2", "--workers", "0"]

    def ablate(rows, seeds, steps):
        done = subprocess.run([sys.executable, "-m", "hcl", "ablate", *common, "--rows", rows, "--seeds", str(seeds),
                               "--steps", str(steps)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout, json.loads((out / "ablation.json").read_text())

    ablate("4-hcl,1-l1", 2, 2)
    stdout, merged = ablate("2-pixel", 1, 2)
    assert "kept 2 row(s)" in stdout
    assert list(merged["rows"]) == ["1-l1", "2-pixel", "4-hcl"]          # the table's order, not the calls'
    assert {row: len(v["runs"]) for row, v in merged["rows"].items()} == {"1-l1": 2, "2-pixel": 1, "4-hcl": 2}
    assert {row: v["seeds"] for row, v in merged["rows"].items()} == {"1-l1": 2, "2-pixel": 1, "4-hcl": 2}
    assert "| 2-pixel" in (out / "ablation.md").read_text()
    _, other = ablate("2-pixel", 1, 3)                                    # other settings: nothing is mixed in
    assert list(other["rows"]) == ["2-pixel"] and other["settings"]["steps"] == 3


def test_paired_differences_are_taken_seed_by_seed():
    from hcl.ablation import paired_difference

    results = {"rows": {"4-hcl": {"runs": {"0": {"mse": 100.0}, "1": {"mse": 120.0}, "2": {"mse": 90.0}}},
                        "4-s2am-none": {"runs": {"0": {"mse": 104.0}, "1": {"mse": 125.0}, "2": {"mse": 93.0}}}}}
    paired = paired_difference(results, "4-s2am-none")
    assert paired["reference"] == "4-hcl" and paired["differences"] == [4.0, 5.0, 3.0]
    assert paired["mean"] == 4.0 and abs(paired["std"] - 1.0) < 1e-12
    assert paired["verdict"].startswith("worse on all 3 seeds, by more")  # unpaired stds (12, 13) would hide it
    results["rows"]["4-s2am-none"]["runs"]["1"]["mse"] = 110.0
    assert "no effect beyond the seed noise" in paired_difference(results, "4-s2am-none")["verdict"]


def test_switch_effects_pair_each_switch_with_the_full_demo_per_kind_of_mask():
    from hcl.ablation import switch_effects

    def row(name, seed, outlines, generated):
        return {"row": name, "seed": seed, "scores": {"outlines": {"model": {"fmse": outlines}},
                                                     "generated": {"model": {"fmse": generated}}}}

    results = {"evaluated on": {"outlines": "a", "generated": "b"},
               "rows": [row("demo", 0, 700.0, 400.0), row("batch 4", 0, 750.0, 390.0),
                        row("demo", 1, 650.0, 420.0), row("batch 4", 1, 660.0, 380.0),
                        row("demo", 2, 900.0, 410.0), row("batch 4", 2, 890.0, 400.0)]}
    effects = switch_effects(results)
    assert list(effects) == ["batch 4"]
    outlines, generated = effects["batch 4"]["outlines"], effects["batch 4"]["generated"]
    assert outlines["differences"] == [50.0, 10.0, -10.0] and outlines["switch"] == "helps on 2 of 3 seeds, hurts on 1"
    assert generated["differences"] == [-10.0, -40.0, -10.0] and generated["switch"] == "hurts on all 3 seeds"
    assert generated["mean"] == -20.0 and generated["verdict"].startswith("better on all 3 seeds")
    results["rows"].append(row("jitter", 7, 1.0, 1.0))  # shares no seed with the demo: not paired, not listed
    results["rows"][1] = row("batch 4", 0, 700.0, 390.0)  # no difference on seed 0: neither helps nor hurts
    effects = switch_effects(results)
    assert list(effects) == ["batch 4"] and effects["batch 4"]["outlines"]["switch"] == "helps on 1 of 3 seeds, hurts on 1"
