"""The output ensemble (hcl.ensemble) and checkpoints of several networks (hcl.checkpoint)."""

import pytest
import torch

from hcl.checkpoint import export_inference_checkpoint, load_checkpoint, model_from_checkpoint
from hcl.config import preset
from hcl.ensemble import HarmonizationEnsemble
from hcl.errors import UserInputError
from hcl.inference import load_harmonizer
from hcl.model import HarmonizationNet, build


def _member(seed: int, name: str = "demo") -> HarmonizationNet:
    torch.manual_seed(seed)
    net = build(name, image_size=64)
    with torch.no_grad():  # heads that visibly change colours, and differently for each seed
        for parameter in (net.head.mlp[-1].weight if name == "demo" else net.head.weight,):
            parameter.normal_(std=0.05)
    return net.eval()


def _box_mask(height: int, width: int) -> torch.Tensor:
    mask = torch.zeros(1, 1, height, width)
    mask[..., height // 4: 3 * height // 4, width // 5: 4 * width // 5] = 1
    return mask


@pytest.mark.parametrize("name", ["demo", "tiny"])
def test_the_ensemble_averages_its_members_inside_the_mask_and_keeps_the_background_exactly(name):
    members = [_member(seed, name) for seed in (0, 1, 2)]
    ensemble = HarmonizationEnsemble(members).eval()
    composite, mask = torch.rand(2, 3, 96, 72), _box_mask(96, 72).expand(2, 1, 96, 72)
    out = ensemble.harmonize(composite, mask)
    alone = [m.harmonize(composite, mask) for m in members]
    inside = mask.bool().expand_as(composite)
    by_hand = (alone[0] + alone[1] + alone[2]) / 3
    assert torch.allclose(out[inside], by_hand[inside], atol=1e-6)
    assert torch.equal(out[~inside], composite[~inside])
    assert not torch.allclose(alone[0][inside], alone[1][inside])  # the members do differ


def test_the_ensembles_forward_is_the_mean_prediction_composed_like_one_network():
    members = [_member(seed) for seed in (0, 1)]
    composite, mask = torch.rand(1, 3, 64, 64), _box_mask(64, 64)
    with torch.no_grad():
        out = HarmonizationEnsemble(members)(composite, mask)
        preds = [m.features(composite, mask)["pred"] for m in members]
    expected = composite + mask * ((preds[0] + preds[1]) / 2 - composite)
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.equal(out[~mask.bool().expand_as(out)], composite[~mask.bool().expand_as(composite)])


def test_members_of_another_architecture_or_size_are_refused():
    with pytest.raises(ValueError, match="differ"):
        HarmonizationEnsemble([build("demo", image_size=64), build("tiny", image_size=64)])
    with pytest.raises(ValueError, match="differ"):
        HarmonizationEnsemble([build("demo", image_size=64), build("demo", image_size=128)])
    with pytest.raises(ValueError, match="at least one"):
        HarmonizationEnsemble([])


def _training_state(seed: int, **overrides) -> dict:
    config = preset("demo", seed=seed, out=f"runs/demo-seed{seed}", **overrides)
    return {"model": _member(seed).state_dict(), "config": config.to_dict(), "step": 300}


def test_an_exported_ensemble_loads_as_its_members_averaged(tmp_path):
    states = [_training_state(seed) for seed in (0, 1, 2)]
    export_inference_checkpoint(states, tmp_path / "ensemble.pt", {"command": "three seeds"})
    export_inference_checkpoint(states[0], tmp_path / "single.pt")
    stored = load_checkpoint(tmp_path / "ensemble.pt")
    assert stored["seeds"] == [0, 1, 2] and stored["command"] == "three seeds"
    assert all(stored["model"][k] is stored["members"][0][k] for k in stored["model"])  # stored once
    size = lambda name: (tmp_path / name).stat().st_size
    assert size("ensemble.pt") < 3.3 * size("single.pt")

    harmonizer = load_harmonizer(tmp_path / "ensemble.pt")
    assert isinstance(harmonizer.net, HarmonizationEnsemble) and len(harmonizer.net) == 3
    assert harmonizer.networks == 3 and "3 networks averaged" in repr(harmonizer)
    for member, state in zip(harmonizer.net.members, states):
        for name, value in member.state_dict().items():
            assert torch.equal(value, state["model"][name].half().float() if value.is_floating_point()
                               else state["model"][name]), name
    single, _ = model_from_checkpoint(tmp_path / "single.pt")
    assert isinstance(single, HarmonizationNet)
    assert load_harmonizer(tmp_path / "single.pt").networks == 1
    assert "averaged" not in repr(load_harmonizer(tmp_path / "single.pt"))
    assert torch.equal(harmonizer.net.members[0].head.mlp[-1].weight, single.head.mlp[-1].weight)


def test_a_list_of_one_state_exports_one_network(tmp_path):
    export_inference_checkpoint([_training_state(0)], tmp_path / "one.pt")
    assert "members" not in load_checkpoint(tmp_path / "one.pt")
    assert isinstance(model_from_checkpoint(tmp_path / "one.pt")[0], HarmonizationNet)


def test_an_ensemble_of_different_recipes_is_refused(tmp_path):
    with pytest.raises(UserInputError, match=r"only in their seed; these settings differ: \[.steps.\]"):
        export_inference_checkpoint([_training_state(0), _training_state(1, steps=500)], tmp_path / "mixed.pt")
    assert not (tmp_path / "mixed.pt").exists()


def test_members_may_differ_in_where_they_ran(tmp_path):
    states = [_training_state(0, device="cpu", workers=0), _training_state(1, device="auto", workers=2, val_every=50)]
    export_inference_checkpoint(states, tmp_path / "two.pt")
    assert load_checkpoint(tmp_path / "two.pt")["seeds"] == [0, 1]


def test_one_networks_internals_are_reached_through_members():
    ensemble = HarmonizationEnsemble([_member(0), _member(1)])
    with pytest.raises(AttributeError, match=r"members\[i\]\.features"):
        ensemble.features
    assert callable(ensemble.members[1].features) and ensemble.image_size == 64


def test_the_shipped_demo_is_three_seeds_of_the_demo_preset_averaged():
    harmonizer = load_harmonizer()
    state = load_checkpoint(None)
    assert isinstance(harmonizer.net, HarmonizationEnsemble) and len(harmonizer.net) == 3
    assert state["seeds"] == [0, 1, 2] and state["config"]["preset"] == "demo"
    first, second = (dict(m.named_parameters()) for m in harmonizer.net.members[:2])
    assert any(not torch.equal(first[k], second[k]) for k in first)  # three trainings, not one network thrice
