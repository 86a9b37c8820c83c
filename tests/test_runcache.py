"""The run cache: a finished run is reused only when its settings and the code that trained it match."""

from __future__ import annotations

from hcl.config import preset
from hcl.runcache import code_version, run_cached


def _config(mini_root, **changes):
    settings = dict(data=str(mini_root), steps=1, batch_size=4, image_size=32, workers=0, k=16, val_images=2,
                    val_every=1000)
    return preset("tiny", **{**settings, **changes})


def test_a_run_is_reused_with_the_same_code_and_settings_and_says_why_not_otherwise(mini_root, tmp_path, monkeypatch):
    said = []
    first = run_cached(_config(mini_root), tmp_path, "r", say=said.append)
    assert said[-1].startswith("training")
    again = run_cached(_config(mini_root, workers=1, log_every=5), tmp_path, "r", say=said.append)  # how, not what
    assert again.path == first.path and said[-1].startswith("REUSED")

    monkeypatch.setattr("hcl.runcache.code_version", lambda: "0123456789ab")
    said.clear()
    after_a_change = run_cached(_config(mini_root), tmp_path, "r", say=said.append)
    assert after_a_change.path != first.path and first.summary_file.is_file()  # nothing deleted
    assert any(line.startswith(f"not reusing {first.path}") and "the code changed" in line for line in said), said

    said.clear()
    base_lr = _config(mini_root).optim.lr
    run_cached(_config(mini_root, lr=base_lr / 2), tmp_path, "r", say=said.append)
    assert any(f"settings differ: lr {base_lr} → {base_lr / 2}" in line for line in said), said


def test_the_code_version_is_a_hash_of_the_training_code(tmp_path, monkeypatch):
    from hcl.layout import PACKAGE
    from hcl.runcache import training_modules

    modules = {str(p.relative_to(PACKAGE)) for p in training_modules()}
    assert {"train.py", "model.py", "losses.py", "contrastive.py", "data/dataset.py"} <= modules
    assert not modules & {"viz.py", "cli.py", "layout.py", "ablation.py", "tutorial.py"}  # prose and front ends
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    monkeypatch.setattr("hcl.runcache.PACKAGE", tmp_path)
    monkeypatch.setattr("hcl.runcache.training_modules", lambda: sorted(tmp_path.rglob("*.py")))
    version = code_version.__wrapped__()
    assert version == code_version.__wrapped__()
    (tmp_path / "sub" / "b.py").write_text('"""Prose about y."""\ny = 2  # a comment\n')
    assert code_version.__wrapped__() == version  # prose is not code
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    assert code_version.__wrapped__() != version
    assert len(code_version()) == 12  # the real package's


def test_a_run_killed_before_recording_its_identity_is_reused_not_resumed(mini_root, tmp_path):
    said = []
    first = run_cached(_config(mini_root), tmp_path, "r", say=said.append)
    summary = first.summary()
    (first.path / "identity.json").unlink()
    again = run_cached(_config(mini_root), tmp_path, "r", say=said.append)
    assert again.path == first.path and said[-1].startswith("REUSED") and again.summary() == summary
    assert (first.path / "identity.json").is_file()
