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


# The paper's own words for every setting it fixes (sections III-A, III-B, III-C and IV-A), and the
# value each sentence gives the `paper` preset.
PAPER_TEXT = {
    "head": ("generates harmonized image H", "image"),
    "fusion": ("The style fusion in layer i employs the background appearance from the encoder as style reference",
               "external"),
    "fusion_residual": ("With the augmented feature maps {D̂i}, we sequentially apply {D̂i} into each layer of the "
                        "decoder", False),
    "psi_input": ("ψ(D̂fg_i) = fs_i(D̂fg_i) × D̂fg_i + fb_i(D̂fg_i)", "map"),
    "s2am": ("For attention module, we employ S2AM [17]", "original"),
    "hcl_reading": ("Given the background query feature map vbg with its positive set {Pi} and the foreground "
                    "query feature map as vfg with its negative set {Ni}", "spread"),  # chosen on validation
    "loss_weights": ("we empirically set λ1 = 0.4, λ2 = 0.5 and λ3 = 0.1", (0.4, 0.5, 0.1)),
    "k": ("K = 256 during all the training", 256),
    "tau": ("we use 0.07 as default", 0.07),
    "factor": ("Why not directly adopt the H/8 and W/8 down-sampling factor instead of H/4 and W/4?", 4),
    "window": ("randomly select K pixels from Sfg as negative locations and then crop 8 × 8 patches", 8),
    "lr": ("learning rate 1e-3", 1e-3),
    "batch_size": ("we use batch size 8", 8),
    "weight_decay": ("We leverage the AdamW optimizer [49] with default setting", 0.01),
    "image_size": ("All the images are resized to 256×256, random cropped and flipped", 256),
    "colour_jitter": ("All the images are resized to 256×256, random cropped and flipped", 0.0),  # nothing else
    "foreground_jitter": ("All the images are resized to 256×256, random cropped and flipped", 0.0),
}


@pytest.mark.parametrize("name", sorted(PAPER_TEXT))
def test_the_paper_preset_is_the_papers_text(name):
    quote, value = PAPER_TEXT[name]
    assert PRESETS["paper"].flat()[name] == value, f"the paper: {quote!r}"


def test_tiny_is_the_paper_at_cpu_size_field_by_field():
    from hcl.config import TINY_SIZE_FIELDS

    tiny, paper = PRESETS["tiny"].flat(), PRESETS["paper"].flat()
    for name in paper:
        if name not in TINY_SIZE_FIELDS:
            assert tiny[name] == paper[name], f"tiny changes {name}, which is the paper's method, not its size"
    assert set(TINY_SIZE_FIELDS) <= set(paper)
    # the sampling map at 128 px has a quarter of the cells of 256 px: K scales with it
    assert tiny["k"] * (paper["image_size"] / tiny["image_size"]) ** 2 == paper["k"]


def test_demo_departs_from_tiny_only_by_its_named_switches():
    from hcl.config import DEMO_SWITCHES

    tiny, demo = PRESETS["tiny"].flat(), PRESETS["demo"].flat()
    changed = {name for name in tiny if tiny[name] != demo[name]}
    assert changed <= set(DEMO_SWITCHES) | {"preset", "out"}
    assert demo["head"] == "transform" and tiny["head"] == "image"


@pytest.mark.parametrize("changes,message", [({"fusion": "cross"}, "--fusion"), ({"hcl_reading": "x"}, "--hcl-reading"),
                                             ({"colour": 1}, "unknown setting"), ({"loss_weights": (1, -1, 0)}, "non-negative")])
def test_bad_settings_are_refused_naming_the_flag(changes, message):
    with pytest.raises(UserInputError, match=message):
        preset("tiny", **changes)


@pytest.mark.parametrize("argv,says", [(["train", "--fusion", "nope"], ("--fusion", "choose from", "external")),
                                       (["train", "--hcl-reading", "nope"], ("--hcl-reading", "choose from", "spread")),
                                       (["train", "--config", "huge"], ("--config", "choose from", "tiny")),
                                       (["evaluate", "--convention", "x", "--data", "d"], ("--convention", "issam")),
                                       (["ablate", "--rows", "nope", "--data", "d", "--out", "o"],
                                        ("'nope'", "hcl ablate --list"))])
def test_an_unknown_option_value_is_one_line_and_exit_1(argv, says, tmp_path):
    result = subprocess.run([sys.executable, "-m", "hcl", *argv], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hcl: error:") and "Traceback" not in result.stderr
    assert all(text in lines[0] for text in says), lines[0]  # names the flag or value, and what to pass instead


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


# ---------------------------------------------------------------------------------------------
# one source of defaults

# parameters named like a setting whose meaning is another one's, with the reason
OTHER_MEANING = {
    ("hcl.ablation", "evaluate_run", "device"): "inference of a finished run: CPU unless asked",
    ("hcl.ablation", "write_feature_gaps", "device"): "inference of a finished run: CPU unless asked",
    ("hcl.ablation", "feature_gaps", "data"): "None: read the committed statistics, compute none",
    ("hcl.ablation", "ablation_config", "val_every"): "None: validate at the end of the run only",
    ("hcl.ablation", "ablate", "val_every"): "None: validate at the end of each run only (no curves)",
    ("hcl.viz", "_cells_on", "window"): "1: the cells alone; the patch explorer passes the loss's window",
    ("hcl.ablation", "ablation_config", "device"): "the ablation's own CLI default",
    ("hcl.ablation", "ablation_config", "workers"): "the ablation's own CLI default",
    ("hcl.ablation", "ablate", "steps"): "the ablation's length (300), not a training default",
    ("hcl.ablation", "ablate", "image_size"): "the ablation's training size (128)",
    ("hcl.ablation", "ablate", "device"): "the ablation's own CLI default",
    ("hcl.ablation", "ablate", "workers"): "the ablation's own CLI default",
    ("hcl.checkpoint", "model_from_checkpoint", "device"): "DESIGN's load_harmonizer(device='cpu')",
    ("hcl.config", "RunConfig.__init__", "data"): "the data section, not the data root",
    ("hcl.contrastive_alone", "hcl_alone", "steps"): "pixel-optimization steps of the L_HCL-alone study",
    ("hcl.contrastive_alone", "hcl_alone", "lr"): "the pixels' learning rate in that study",
    ("hcl.data.dataset", "IHarmony4.__init__", "seed"): "None: no augmentation seed for evaluation sets",
    ("hcl.evaluate", "evaluate", "workers"): "evaluation loads in the main process",
    ("hcl.harmonize", "harmonize_file", "device"): "inference: CPU unless asked",
    ("hcl.inference", "Harmonizer.__init__", "device"): "inference: CPU unless asked",
    ("hcl.inference", "load_harmonizer", "device"): "DESIGN's load_harmonizer(device='cpu')",
    ("hcl.model", "build", "image_size"): "None: the preset's",
    ("hcl.stats", "gaussian_taps", "device"): "a tensor's device",
    ("hcl.viz", "patch_explorer", "k"): "cells drawn for the figure, not the loss's K",
    ("hcl.viz", "loss_curves", "k"): "None: K is read from the log; given only for logs older than hcl_chance",
    ("hcl.viz", "_smooth", "window"): "a moving-average window, not the crop window",
}


def _package_signatures():
    import importlib
    import inspect
    import pkgutil

    import hcl

    for info in pkgutil.walk_packages(hcl.__path__, "hcl."):
        if info.name == "hcl.__main__":
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if getattr(obj, "__module__", None) != info.name:
                continue
            if inspect.isclass(obj):
                targets = [obj.__init__, *(v for v in vars(obj).values() if inspect.isfunction(v))]
            elif inspect.isfunction(obj):
                targets = [obj]
            else:
                continue
            for target in targets:
                try:
                    yield info.name, target.__qualname__, inspect.signature(target)
                except (TypeError, ValueError):
                    continue


def test_every_default_named_like_a_setting_is_the_configs():
    """A function's parameter named like a setting (``tau``, ``k``, ``crop_scale`` …) takes the
    config's default, unless it means something else (listed above with the reason)."""
    from hcl.config import field_default

    defaults = {name: field_default(f) for name, (_, f) in flat_fields().items()}
    seen, drifted = set(), []
    for module, name, signature in _package_signatures():
        for parameter in signature.parameters.values():
            if parameter.name not in defaults or parameter.default is parameter.empty:
                continue
            key = (module, name, parameter.name)
            seen.add(key)
            if parameter.default != defaults[parameter.name] and key not in OTHER_MEANING:
                drifted.append(f"{module}.{name}({parameter.name}={parameter.default!r}): config says "
                               f"{defaults[parameter.name]!r}")
    assert not drifted, "\n".join(drifted)
    assert not set(OTHER_MEANING) - seen, "stale exemptions"


def test_the_constructors_take_their_defaults_from_the_config():
    """The modules' own names for settings, walked against their config fields."""
    import inspect

    from hcl.attention import S2AM
    from hcl.colour_transform import ColourTransformHead
    from hcl.config import DataConfig, LossConfig, ModelConfig, OptimConfig
    from hcl.contrastive import HCLLoss, region_infonce
    from hcl.contrastive_alone import hcl_alone
    from hcl.data import IHarmony4
    from hcl.fusion import StyleFusion
    from hcl.losses import HarmonizationLoss
    from hcl.model import HarmonizationNet
    from hcl.train import train_step
    from hcl.viz import patch_explorer

    loss, model = LossConfig(), ModelConfig()
    expected = {
        StyleFusion: {"variant": model.fusion, "residual": model.fusion_residual, "psi_input": model.psi_input},
        S2AM: {"variant": model.s2am},
        ColourTransformHead: {"statistics": model.head_statistics},
        HarmonizationNet: {"image_size": DataConfig().image_size},
        HCLLoss: {"k": loss.k, "tau": loss.tau, "factor": loss.factor, "window": loss.window,
                  "reading": loss.hcl_reading, "key_momentum": loss.key_momentum},
        HarmonizationLoss: {"l1_weight": loss.loss_weights[0], "pixel_weight": loss.loss_weights[1],
                            "hcl_weight": loss.loss_weights[2], "k": loss.k, "tau": loss.tau, "factor": loss.factor,
                            "window": loss.window, "reading": loss.hcl_reading, "pixel_scale": loss.pixel_loss_scale,
                            "key_momentum": loss.key_momentum},
        region_infonce: {"tau": loss.tau},
        hcl_alone: {"k": loss.k, "tau": loss.tau, "factor": loss.factor},
        patch_explorer: {"tau": loss.tau, "factor": loss.factor},
        IHarmony4: {"image_size": DataConfig().image_size, "crop_scale": DataConfig().crop_scale,
                    "colour_jitter": DataConfig().colour_jitter,
                    "foreground_jitter": DataConfig().foreground_jitter},
        train_step: {"amp": RunConfig().amp, "grad_clip": OptimConfig().grad_clip},
    }
    for target, values in expected.items():
        parameters = inspect.signature(target).parameters
        for name, value in values.items():
            assert parameters[name].default == value, (target.__qualname__, name)


def test_no_module_repeats_the_temperature_literal():
    from tests.conftest import REPO

    offenders = [str(p.relative_to(REPO)) for p in sorted((REPO / "hcl").rglob("*.py"))
                 if p.name != "config.py" and "0.07" in p.read_text()]
    assert not offenders, offenders


def test_from_config_builds_what_the_section_says():
    from hcl.contrastive import HCLLoss
    from hcl.fusion import StyleFusion
    from hcl.losses import HarmonizationLoss

    config = preset("tiny", tau=0.2, k=12, factor=8, hcl_reading="spread", loss_weights=(1, 0, 0.3),
                    pixel_loss_scale=1.0, fusion="rain", fusion_residual=False, psi_input="normalized-mean")
    loss = HarmonizationLoss.from_config(config.loss)
    assert loss.weights == {"l1": 1.0, "pixel": 0.0, "hcl": 0.3} and loss.pixel_scale == 1.0
    assert (loss.hcl.tau, loss.hcl.k, loss.hcl.factor, loss.hcl.reading) == (0.2, 12, 8, "spread")
    contrastive = HCLLoss.from_config(config.loss)
    assert (contrastive.tau, contrastive.k) == (0.2, 12)
    assert contrastive.embed.standardize and loss.hcl.embed.standardize  # the preset's patch_norm
    raw = HCLLoss.from_config(preset("tiny", patch_norm="none").loss)
    assert raw.patch_norm == "none" and not raw.embed.standardize
    fusion = StyleFusion.from_config(16, config.model)
    assert (fusion.variant, fusion.residual, fusion.psi_input) == ("rain", False, "normalized-mean")
