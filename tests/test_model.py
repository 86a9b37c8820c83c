"""The generator: sizes, parameter counts, background kept, finiteness, determinism, switches."""

from __future__ import annotations

import pytest
import torch

from hcl.colour_transform import apply_colour_transform, boundary_colour_fit, dilate
from hcl.errors import UserInputError
from hcl.model import build, count_parameters
from tests.reference import dilate_numpy


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build("tiny").eval()


def _inputs(batch, height, width, seed=0):
    g = torch.Generator().manual_seed(seed)
    composite = torch.rand(batch, 3, height, width, generator=g)
    mask = torch.zeros(batch, 1, height, width)
    mask[:, :, height // 4: height // 2, width // 3: width // 2 + 4] = 1
    return composite, mask


@pytest.mark.parametrize("size", [(64, 64), (32, 96), (48, 16)])
def test_output_has_the_input_shape_and_range(tiny, size):
    composite, mask = _inputs(2, *size)
    out = tiny(composite, mask)
    assert out.shape == composite.shape and out.min() >= 0 and out.max() <= 1


def test_sides_not_divisible_by_the_stride_are_rejected_clearly(tiny):
    composite, mask = _inputs(1, 60, 64)
    with pytest.raises(UserInputError, match="divisible by 8"):
        tiny(composite, mask)


def test_background_is_the_composite_bit_for_bit(tiny):
    composite, mask = _inputs(2, 64, 64)
    with torch.no_grad():
        for p in tiny.head.parameters():
            p.normal_(std=0.3)  # a head that changes the image a lot
        out = tiny(composite, mask)
    background = mask.expand_as(out) == 0
    assert torch.equal(out[background], composite[background])
    assert not torch.equal(out[~background], composite[~background])


@pytest.mark.parametrize("s2am", ["original", "ours", "none"])
def test_parameter_counts_match_the_paper_and_the_cpu_budget(s2am):
    assert abs(count_parameters(build("paper")) - 28.37e6) / 28.37e6 < 0.10  # the paper's "#Param."
    assert count_parameters(build("tiny", s2am=s2am)) <= 2e6


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_empty_and_full_masks_give_finite_outputs_and_gradients(fill):
    torch.manual_seed(0)
    net = build("tiny")
    composite = torch.rand(2, 3, 32, 32, requires_grad=True)
    out = net(composite, torch.full((2, 1, 32, 32), fill))
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(composite.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_same_seed_same_network_and_output():
    outputs = []
    for _ in range(2):
        torch.manual_seed(7)
        net = build("tiny", head="image")
        torch.nn.init.normal_(net.head.weight, std=0.1)
        outputs.append(net(*_inputs(1, 32, 32)))
    assert torch.equal(outputs[0], outputs[1])


# (preset, switch, what it removes: "fewer" parameters, or "same" count with other computations)
SWITCHES = [("tiny", {"s2am": False}, "fewer"), ("tiny", {"s2am": "none"}, "fewer"), ("tiny", {"s2am": "ours"}, "fewer"),
            ("tiny", {"fusion": "none"}, "fewer"), ("tiny", {"fusion": "adain"}, "fewer"), ("tiny", {"fusion": "rain"}, "same"),
            ("demo", {"head": "image"}, "fewer"), ("demo", {"head_statistics": False}, "fewer"),
            ("demo", {"fusion_residual": False}, "same"), ("tiny", {"fusion_residual": True}, "same"),
            ("tiny", {"psi_input": "reference"}, "other"), ("demo", {"s2am_full_resolution": True}, "other")]


@pytest.mark.parametrize("base,overrides,effect", SWITCHES)
def test_switches_build_working_networks_that_differ_from_their_preset(base, overrides, effect):
    """Each switch changes the network it is set on: fewer parameters (a module left out: S2AM, ψ_B, the
    transform head's statistics, our smaller S2AM), other parameters (ψ reading the statistics, S2AM at full
    resolution too), or, where the weights are the same (RainNet's fusion, the residual form D + D̂), another output
    from the same weights."""
    torch.manual_seed(3)
    net, default = build(base, **overrides), build(base)
    inputs = _inputs(1, 32, 32)
    assert net(*inputs).shape == (1, 3, 32, 32)
    if effect == "fewer":
        assert count_parameters(net) < count_parameters(default)
    elif effect == "other":
        assert count_parameters(net) != count_parameters(default)
    else:
        assert count_parameters(net) == count_parameters(default)
        for parameter in default.parameters():  # away from the zero-initialized head and identity ψ, as trained
            torch.nn.init.normal_(parameter, std=0.1)
        net.load_state_dict(default.state_dict())
        assert not torch.allclose(net(*inputs), default(*inputs))
    with pytest.raises(TypeError, match="unknown model options"):
        build(base, attention=False)


def test_keep_background_can_be_switched_off():
    torch.manual_seed(0)
    net = build("tiny", keep_background=False, head="image")
    torch.nn.init.normal_(net.head.weight, std=0.5)
    composite, mask = _inputs(1, 32, 32)
    out = net(composite, mask)
    assert not torch.equal(out[mask.expand_as(out) == 0], composite[mask.expand_as(out) == 0])


def test_s2am_original_sits_at_the_middle_scales_on_the_concatenation():
    net = build("tiny", s2am="original")
    kinds = [type(a).__name__ for a in net.attention]
    assert kinds == ["S2AM", "S2AM", "Identity"]  # coarse → fine: none at full resolution
    widths = net.config.widths
    assert net.attention[0].background_gate.fc[0].in_features == 2 * widths[2]
    assert build("tiny", s2am="ours", s2am_full_resolution=True).attention[-1].background_gate.fc[0].in_features == widths[0]


def test_colour_transform_is_the_affine_map_it_names():
    torch.manual_seed(0)
    theta = torch.randn(2, 12, 1, 1) * 0.2
    image = torch.rand(2, 3, 5, 4)
    out = apply_colour_transform(theta, image)
    for b in range(2):
        matrix = torch.eye(3) + theta[b, :9, 0, 0].view(3, 3)
        expected = torch.einsum("ij,jhw->ihw", matrix, image[b]) + theta[b, 9:, 0, 0][:, None, None]
        assert torch.allclose(out[b], expected, atol=1e-6)


def test_boundary_fit_recovers_a_colour_change_that_crosses_the_boundary():
    """Surfaces (horizontal bands of colour) run across a vertical boundary; the right half was
    changed by a known affine map: the fit across the boundary recovers that map's inverse."""
    torch.manual_seed(0)
    bands = torch.rand(3, 48, 1).repeat_interleave(1, 1)
    real = bands.expand(3, 48, 48).clone()[None]
    mask = torch.zeros(1, 1, 48, 48)
    mask[..., 24:] = 1
    change = torch.tensor([[0.8, 0.1, 0.0], [0.0, 0.9, 0.1], [0.05, 0.0, 0.7]])
    composite = real.clone()
    composite[..., 24:] = (torch.einsum("ij,bjhw->bihw", change, real) + 0.05)[..., 24:]
    theta, residual = boundary_colour_fit(composite, mask, radius=2, ridge=1e-6)
    repaired = apply_colour_transform(theta[..., None, None], composite)
    error_before = (composite - real)[..., 24:].abs().mean()
    error_after = (repaired - real)[..., 24:].abs().mean()
    assert error_after < 0.1 * error_before and float(residual) < 1e-4


def test_boundary_fit_is_the_identity_without_a_boundary():
    theta, _ = boundary_colour_fit(torch.rand(2, 3, 16, 16), torch.zeros(2, 1, 16, 16))
    assert torch.allclose(theta, torch.zeros_like(theta), atol=1e-6)


def test_dilate_equals_scipy():
    mask = (torch.rand(1, 1, 20, 17, generator=torch.Generator().manual_seed(0)) > 0.8).float()
    for radius in (1, 3):
        expected = dilate_numpy(mask[0, 0].numpy() > 0, radius)
        assert (dilate(mask, radius)[0, 0].numpy() > 0).tolist() == expected.tolist()


@pytest.mark.parametrize("variant", ["ours", "original"])
def test_s2am_equals_the_combination_as_printed_with_the_mask_blurred_and_gated_by_loops(variant):
    """S2AM(x) = (L(G_fg(x)) + G_mix(x))·M_s + G_bg(x)·(1 − M_s) with M_s and the three gates written as loops
    (tests/reference.py): the mask binarized for 'original' only, each variant's Gaussian and border rule; a
    mask of soft and hard parts on a map small enough that the borders matter. Both the folded forward (the
    map pooled once, the rescaling gates folded into one weight) and the gate-by-gate ``explicit``."""
    from hcl.attention import S2AM
    from tests.reference import channel_gate_loop, s2am_blend_loop

    torch.manual_seed(6)
    attention = S2AM(8, variant)
    for parameter in attention.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    x = torch.randn(2, 8, 9, 8)
    mask = torch.zeros(2, 1, 9, 8)
    mask[0, :, 0:5, 2:8] = 1
    mask[1, :, :, 3:] = 0.6
    mask[1, :, 6:, :2] = 0.3
    smoothed = s2am_blend_loop(mask, variant)
    assert torch.allclose(attention.blend_weights(mask).double(), smoothed, atol=1e-6)
    with torch.no_grad():
        learned = attention.learning_block(channel_gate_loop(attention.foreground_gate, x).float()).double()
        expected = ((learned + channel_gate_loop(attention.mix_gate, x)) * smoothed
                    + channel_gate_loop(attention.background_gate, x) * (1 - smoothed))
        assert torch.allclose(attention(x, mask).double(), expected, atol=1e-5)
        assert torch.allclose(attention.explicit(x, mask).double(), expected, atol=1e-5)


def test_our_s2am_skips_the_finest_stage_unless_asked_and_old_checkpoints_keep_it():
    from hcl.attention import S2AM
    from hcl.config import RunConfig

    default, everywhere = build("demo"), build("demo", s2am_full_resolution=True)
    assert [isinstance(a, S2AM) for a in default.attention] == [True, True, False]
    assert all(isinstance(a, S2AM) for a in everywhere.attention)
    stored = RunConfig().to_dict()
    del stored["model"]["s2am_full_resolution"]  # a checkpoint written before the setting existed
    assert RunConfig.from_dict(stored).model.s2am_full_resolution is True
    stored["model"]["s2am"] = "original"
    assert RunConfig.from_dict(stored).model.s2am_full_resolution is False


def test_a_whole_run_configuration_builds_its_model_at_its_training_size():
    from hcl.config import preset

    config = preset("demo", image_size=64, widths=(8, 16, 32, 64))
    net = build(config)
    assert net.config == config.model and net.image_size == 64
    assert build(config, image_size=96).image_size == 96
    assert net.config.head == "transform" and build(preset("tiny")).config.head == "image"
