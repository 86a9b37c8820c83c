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
from hcl.train import TrainingDiverged, preset, train


def _config(mini_root, out, steps, **changes):
    return preset("tiny", data=str(mini_root), out=str(out), steps=steps, batch_size=4, image_size=32, workers=0,
                  val_every=1000, val_images=4, save_every=2, log_every=1, k=16, **changes)


def test_resume_gives_the_same_parameters_as_an_uninterrupted_run(mini_root, tmp_path):
    train(_config(mini_root, tmp_path / "straight", 6), progress=False)
    train(_config(mini_root, tmp_path / "resumed", 4), progress=False)  # 4 steps: crosses an epoch (24 / 4 = 6)
    train(_config(mini_root, tmp_path / "resumed", 6), resume=True, progress=False)
    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.pt")
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert straight["step"] == resumed["step"] == 6
    for name, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][name]), name
    for name, value in straight["criterion"].items():
        assert torch.equal(value, resumed["criterion"][name]), name
    log = (tmp_path / "resumed" / "log.csv").read_text().splitlines()
    assert [int(line.split(",")[0]) for line in log[1:]] == [1, 2, 3, 4, 5, 6]


def test_a_write_killed_midway_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint({"model": {"w": torch.ones(3)}, "model_config": {}, "step": 1}, path)

    def dying_write(handle_path, payload):
        with open(str(handle_path) + ".partial", "wb") as handle:
            handle.write(payload[: len(payload) // 2])
        raise KeyboardInterrupt  # the process is killed half-way through the write

    monkeypatch.setattr("hcl.checkpoint.write_atomically", dying_write)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"model": {"w": torch.zeros(3)}, "model_config": {}, "step": 2}, path)
    state = load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["model"]["w"], torch.ones(3))


def test_atomic_write_never_exposes_a_partial_file(tmp_path):
    from hcl.data.imageio import write_atomically

    path = tmp_path / "file.bin"
    write_atomically(path, b"a" * 10)
    write_atomically(path, b"b" * 20)
    assert path.read_bytes() == b"b" * 20 and sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


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


def test_two_torchrun_processes_on_gloo_train_and_keep_identical_parameters(mini_root, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "hcl", "train", "--data", str(mini_root), "--out", str(out), "--steps", "3",
               "--batch-size", "2", "--image-size", "32", "--workers", "0", "--device", "cpu"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 3 and summary["ranks_in_sync"] is True
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 3
