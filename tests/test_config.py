"""One configuration: flags derived from it, stored in checkpoints, rebuilt from them alone."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields

import pytest
import torch

from hcl.checkpoint import config_of, load_checkpoint, model_from_checkpoint
from hcl.cli import build_parser
from hcl.config import PRESETS, RunConfig, flat_fields, preset
from hcl.errors import UserInputError


def test_every_setting_has_a_train_flag_and_the_flags_reach_the_config():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {option for action in train._actions for option in action.option_strings}
    for name in flat_fields():
        if name != "preset":
            assert "--" + name.replace("_", "-") in flags, name
    args = parser.parse_args(["train", "--lr", "2e-4", "--hcl-reading", "spread", "--factor", "8", "--window", "6",
                              "--fusion-residual", "false", "--loss-weights", "1", "0", "0.5", "--crop-scale", "0.3"])
    changes = {name: getattr(args, name) for name in flat_fields() if getattr(args, name, None) is not None}
    config = preset(args.config, **changes)
    assert config.optim.lr == 2e-4 and config.loss.hcl_reading == "spread" and config.loss.factor == 8
    assert config.loss.window == 6 and config.model.fusion_residual is False
    assert config.loss.loss_weights == (1.0, 0.0, 0.5) and config.data.crop_scale == 0.3


def test_a_configuration_round_trips_through_a_dict_and_json():
    config = preset("paper", lr=3e-4, fusion="rain", hcl_reading="literal", widths=(8, 16, 32))
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


def test_presets_differ_only_where_they_should():
    tiny, paper = PRESETS["tiny"].flat(), PRESETS["paper"].flat()
    assert tiny["lr"] == paper["lr"] == 1e-3 and tiny["batch_size"] == paper["batch_size"] == 8
    assert tiny["widths"] != paper["widths"]


@pytest.mark.parametrize("changes,message", [({"fusion": "cross"}, "--fusion"), ({"hcl_reading": "x"}, "--hcl-reading"),
                                             ({"colour": 1}, "unknown setting"), ({"loss_weights": (1, -1, 0)}, "non-negative")])
def test_bad_settings_are_refused_naming_the_flag(changes, message):
    with pytest.raises(UserInputError, match=message):
        preset("tiny", **changes)


@pytest.mark.parametrize("argv", [["train", "--fusion", "nope"], ["train", "--hcl-reading", "nope"],
                                  ["train", "--config", "huge"], ["evaluate", "--convention", "x", "--data", "d"],
                                  ["ablate", "--rows", "nope", "--data", "d", "--out", "o"]])
def test_an_unknown_option_value_is_one_line_and_exit_1(argv, tmp_path):
    result = subprocess.run([sys.executable, "-m", "hcl", *argv], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hcl: error:") and "Traceback" not in result.stderr


def test_a_checkpoint_rebuilds_its_model_from_its_configuration_alone(mini_root, tmp_path):
    from hcl.train import train

    config = preset("tiny", data=str(mini_root), out=str(tmp_path / "run"), steps=2, batch_size=2, image_size=32,
                    workers=0, val_every=100, k=8, fusion="rain", s2am="ours", widths=(8, 16, 32),
                    hcl_reading="spread")
    train(config, progress=False)
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert config_of(state) == config
    net, _ = model_from_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert net.config == config.model
    composite, mask = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    mask[..., 8:20, 8:24] = 1
    assert net(composite, mask).shape == composite.shape


def test_sections_have_disjoint_flat_names():
    names = [f.name for section in ("model", "loss", "data", "optim")
             for f in fields(type(getattr(PRESETS["tiny"], section)))]
    assert len(names) == len(set(names))
