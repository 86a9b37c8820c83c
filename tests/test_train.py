"""Training: exact resume, atomic checkpoints, the NaN guard, torchrun (gloo) processes in sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from hcl.checkpoint import load_checkpoint, save_checkpoint
from hcl.cli import main
from hcl.config import preset
from hcl.errors import TrainingDiverged
from hcl.train import learning_rate_factor, train
from tests.conftest import REPO, files_with_bytes, users_output_folder


def _config(mini_root, out, steps, **changes):
    return preset("tiny", data=str(mini_root), out=str(out), steps=steps, batch_size=4, image_size=32, workers=0,
                  val_every=1000, val_images=4, save_every=2, log_every=1, k=16, **changes)


@pytest.mark.parametrize("schedule,average_last", [("constant", 0.0), ("cosine", 0.0), ("cosine", 0.5)])
def test_resume_gives_the_same_parameters_as_an_uninterrupted_run(mini_root, tmp_path, monkeypatch, schedule,
                                                                   average_last):
    train(_config(mini_root, tmp_path / "straight", 10, schedule=schedule, average_last=average_last), progress=False)
    import hcl.train as trainer

    real_step, calls = trainer.train_step, []

    def killed_after_eight_steps(*args, **kwargs):
        calls.append(1)
        if len(calls) == 9:
            raise KeyboardInterrupt  # the process dies during step 9; the checkpoint of step 8 remains
        return real_step(*args, **kwargs)

    monkeypatch.setattr(trainer, "train_step", killed_after_eight_steps)
    with pytest.raises(KeyboardInterrupt):  # an epoch is 6 batches (24 / 4): the resumed run starts in the second
        train(_config(mini_root, tmp_path / "resumed", 10, schedule=schedule, average_last=average_last), progress=False)
    monkeypatch.setattr(trainer, "train_step", real_step)
    train(_config(mini_root, tmp_path / "resumed", 10, schedule=schedule, average_last=average_last), resume=True,
          progress=False)
    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.pt")
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert straight["step"] == resumed["step"] == 10
    for name, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][name]), name
    for name, value in straight["criterion"].items():
        assert torch.equal(value, resumed["criterion"][name]), name
    assert straight.get("average_count") == resumed.get("average_count") == (5 if average_last else None)
    for name, value in straight.get("model_average", {}).items():  # killed at step 9: the mean had begun
        assert torch.equal(value, resumed["model_average"][name]), name
    log = [line.split(",") for line in (tmp_path / "resumed" / "log.csv").read_text().splitlines()[1:]]
    assert [int(row[0]) for row in log] == list(range(1, 11))
    assert [int(row[1]) for row in log] == [0] * 6 + [1] * 4  # resumed inside the second epoch's shuffle


def _replace_fails(monkeypatch):
    def failing_replace(source, target):
        raise OSError("disk full")  # the process cannot finish the write

    monkeypatch.setattr("hcl.files.os.replace", failing_replace)


def test_a_checkpoint_write_that_fails_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint({"model": {"w": torch.ones(3)}, "config": {}, "step": 1}, path)
    _replace_fails(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"model": {"w": torch.zeros(3)}, "config": {}, "step": 2}, path)
    state = load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["model"]["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temporary file left behind


@pytest.mark.parametrize("failing", ["os.replace", "os.fsync"])
def test_an_interrupted_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch, failing):
    from hcl.files import write_atomically

    path = tmp_path / "file.bin"
    write_atomically(path, b"a" * 10)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(f"hcl.files.{failing}", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, b"b" * 20)
    assert path.read_bytes() == b"a" * 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]
    monkeypatch.undo()
    write_atomically(path, b"c" * 5)
    assert path.read_bytes() == b"c" * 5


def test_a_nan_loss_stops_with_a_clear_message_and_keeps_the_last_checkpoint(mini_root, tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(_config(mini_root, out, 2), progress=False)
    before = load_checkpoint(out / "checkpoints" / "last.pt")

    from hcl import losses

    original = losses.l1_loss
    monkeypatch.setattr(losses, "l1_loss", lambda h, t: original(h, t) * float("nan"))
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        train(_config(mini_root, out, 4), resume=True, progress=False)
    after = load_checkpoint(out / "checkpoints" / "last.pt")
    assert after["step"] == before["step"] == 2


def test_cli_refuses_to_overwrite_a_run_and_to_resume_nothing(mini_root, tmp_path, capsys):
    args = ["train", "--data", str(mini_root), "--out", str(tmp_path / "run"), "--steps", "1", "--batch-size", "2",
            "--image-size", "32", "--workers", "0", "--device", "cpu"]
    assert main(args + ["--resume"]) == 1
    assert "nothing to resume" in capsys.readouterr().err
    assert main(args) == 0
    assert main(args) == 1
    assert "--resume" in capsys.readouterr().err


@pytest.mark.parametrize("owned", ["config.json", "log.csv", "summary.json", "OUT is a file"])
def test_cli_train_never_writes_over_files_it_did_not_write(mini_root, tmp_path, capsys, owned):
    out, before = users_output_folder(tmp_path, owned)
    args = ["train", "--data", str(mini_root), "--out", str(out), "--steps", "1", "--batch-size", "2",
            "--image-size", "32", "--workers", "0", "--device", "cpu"]
    assert main(args) == 1
    message = capsys.readouterr().err.strip()
    assert message.startswith("hcl: error:") and "\n" not in message and "--out" in message
    assert files_with_bytes(tmp_path) == before


def test_cli_train_checks_the_data_before_writing_into_out(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "no-data"), "--out", str(out), "--device", "cpu"]) == 1
    assert "no-data" in capsys.readouterr().err
    assert not out.exists()


def test_a_run_stopped_before_its_first_checkpoint_can_be_started_again(mini_root, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(preset("tiny").to_dict()))  # what hcl train writes first
    (out / "log.csv").write_text("step\n")
    train(_config(mini_root, out, 1), progress=False)
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 1


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


@pytest.mark.slow
@pytest.mark.parametrize("switch", [["--loss-weights", "0.4", "0.5", "0"], ["--fusion", "adain"]])
def test_two_torchrun_processes_on_gloo_train_and_keep_identical_parameters(mini_root, tmp_path, switch):
    out = tmp_path / "ddp"
    command = [*TORCHRUN, "-m", "hcl", "train", "--config", "tiny", "--data", str(mini_root), "--out", str(out),
               "--steps", "3", "--batch-size", "2", "--image-size", "32", "--workers", "0", "--device", "cpu",
               "--k", "8", *switch]
    result = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 3 and summary["ranks_in_sync"] is True
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 3


@pytest.mark.slow
def test_every_ablation_row_trains_under_torchrun_without_unused_parameters(mini_root, tmp_path):
    command = [*TORCHRUN, str(REPO / "tests" / "ddp_rows.py"), str(mini_root), str(tmp_path)]
    result = subprocess.run(command, env={**ENV, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    in_sync = json.loads(result.stdout.strip().splitlines()[-1])
    from hcl.ablation import ABLATION_ROWS

    assert set(in_sync) == set(ABLATION_ROWS) and all(in_sync.values())


def test_learning_rate_schedule_warms_up_then_follows_a_cosine():
    assert learning_rate_factor(0, 100, "cosine", 10) == pytest.approx(0.1)
    assert learning_rate_factor(9, 100, "cosine", 10) == pytest.approx(1.0)
    assert learning_rate_factor(10, 100, "cosine", 10) == pytest.approx(1.0)
    assert learning_rate_factor(55, 100, "cosine", 10) == pytest.approx(0.5)
    assert learning_rate_factor(99, 100, "constant", 0) == 1.0


def test_the_log_holds_each_terms_gradient_norm_at_the_output(mini_root, tmp_path):
    config = _config(mini_root, tmp_path / "run", 3).replace(grad_norm_every=1)
    train(config, progress=False)
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    header = rows[0].split(",")
    first = dict(zip(header, rows[1].split(",")))
    shares = [float(first[f"share_{n}"]) for n in ("l1", "pixel", "hcl")]
    assert all(float(first[f"grad_{n}"]) > 0 for n in ("l1", "pixel", "hcl"))
    assert sum(shares) == pytest.approx(1.0, abs=1e-4)
    # L_HCL's top-1 accuracy is logged beside it, with its chance level: 1/(K+1) candidates, 1/K for
    # the 'spread' reading, whose query is one of the K negatives and is left out of its own row
    assert 0.0 <= float(first["hcl_accuracy"]) <= 1.0
    candidates = config.loss.k + (0 if config.loss.hcl_reading == "spread" else 1)
    assert float(first["hcl_chance"]) == pytest.approx(1 / candidates, abs=1e-6)  # the log keeps 6 decimals


def test_the_weight_average_is_the_mean_of_the_last_steps_weights_and_inference_uses_it(mini_root, tmp_path, monkeypatch):
    import hcl.train as trainer
    from hcl.checkpoint import model_from_checkpoint

    seen = []
    real_update = trainer.WeightAverage.update

    def recording(self, net, step):
        seen.append((step, {k: v.detach().clone() for k, v in net.state_dict().items()}))
        real_update(self, net, step)

    monkeypatch.setattr(trainer.WeightAverage, "update", recording)
    out = tmp_path / "run"
    train(_config(mini_root, out, 6, average_last=0.5), progress=False)
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    assert state["average_count"] == 3 and [s for s, _ in seen] == [1, 2, 3, 4, 5, 6]
    last_three = [weights for step, weights in seen if step >= 4]
    for name, value in state["model_average"].items():
        if value.is_floating_point():
            expected = (last_three[0][name] + last_three[1][name] + last_three[2][name]) / 3
            torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-7)
    assert any(not torch.equal(state["model_average"][k], state["model"][k]) for k in state["model"])
    net, _ = model_from_checkpoint(out / "checkpoints" / "last.pt")
    for name, value in net.state_dict().items():
        assert torch.equal(value, state["model_average"][name].float()), name


def test_a_run_without_averaging_keeps_no_average_and_a_bad_fraction_is_refused(mini_root, tmp_path):
    from hcl.errors import UserInputError

    train(_config(mini_root, tmp_path / "plain", 2), progress=False)
    assert "model_average" not in load_checkpoint(tmp_path / "plain" / "checkpoints" / "last.pt")
    with pytest.raises(UserInputError, match="--average-last"):
        preset("demo", average_last=1.5)


def test_the_weight_average_tool_scores_the_last_weights_apart_from_the_average(mini_root, tmp_path):
    """tools/weight_average.py compares, within one run, the last weights with their mean."""
    sys.path.insert(0, str(REPO / "tools"))
    from weight_average import LastWeights

    from hcl.checkpoint import model_from_checkpoint
    from hcl.rundir import RunDirectory

    out = tmp_path / "run"
    train(_config(mini_root, out, 4, average_last=0.5), progress=False)
    run = RunDirectory(out)
    state = load_checkpoint(run.checkpoint)
    last, _ = model_from_checkpoint(LastWeights(run, tmp_path / "last").checkpoint)
    averaged, _ = model_from_checkpoint(run.checkpoint)
    for name, value in last.state_dict().items():
        assert torch.equal(value, state["model"][name].float()), name
    assert any(not torch.equal(a, b) for a, b in zip(last.state_dict().values(), averaged.state_dict().values()))


def test_the_foreground_jitter_tool_pairs_each_run_with_the_demos_last_weights(tmp_path):
    """tools/foreground_jitter.py's baseline is weight_average's *last* weights, fold by fold and seed by seed."""
    sys.path.insert(0, str(REPO / "tools"))
    from foreground_jitter import baseline_scores

    def scores(fmse):
        return {kind: {"model": {"fmse": value}} for kind, value in fmse.items()}

    rows = [{"held out": "china,ladybird", "seed": 0, "scores": {"average": scores({"outlines": 1.0}),
                                                                   "last": scores({"outlines": 2.0})}},
            {"held out": "astronaut,chelsea", "seed": 0, "scores": {"average": scores({"outlines": 3.0}),
                                                                      "last": scores({"outlines": 4.0})}}]
    path = tmp_path / "weight_average.json"
    path.write_text(json.dumps({"rows": rows}))
    assert baseline_scores(path) == {("china,ladybird", 0): {"outlines": 2.0},
                                     ("astronaut,chelsea", 0): {"outlines": 4.0}}
