"""The generator: sizes, parameter counts, background kept, finiteness, determinism, switches."""

from __future__ import annotations

import pytest
import torch

from hcl.model import build, count_parameters


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
    with pytest.raises(ValueError, match="divisible by 8"):
        tiny(composite, mask)


def test_background_is_the_composite_bit_for_bit(tiny):
    composite, mask = _inputs(2, 64, 64)
    with torch.no_grad():
        for p in tiny.head.parameters():
            p.normal_()  # a head that changes the image a lot
        out = tiny(composite, mask)
    background = mask.expand_as(out) == 0
    assert torch.equal(out[background], composite[background])
    assert not torch.equal(out[~background], composite[~background])


def test_parameter_counts_match_the_paper_and_the_cpu_budget():
    assert abs(count_parameters(build("paper")) - 28.37e6) / 28.37e6 < 0.10
    assert count_parameters(build("tiny")) <= 2e6


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
        net = build("tiny")
        torch.nn.init.normal_(net.head.weight, std=0.1)
        outputs.append(net(*_inputs(1, 32, 32)))
    assert torch.equal(outputs[0], outputs[1])


@pytest.mark.parametrize("overrides", [{"s2am": False}, {"fusion": "none"}, {"fusion": "adain"}, {"fusion": "rain"}])
def test_switches_build_working_networks_with_different_parameter_counts(overrides):
    net = build("tiny", **overrides)
    assert net(*_inputs(1, 32, 32)).shape == (1, 3, 32, 32)
    if overrides.get("fusion") == "none" or "s2am" in overrides:
        assert count_parameters(net) < count_parameters(build("tiny"))
    with pytest.raises(TypeError, match="unknown model options"):
        build("tiny", attention=False)


def test_keep_background_can_be_switched_off():
    torch.manual_seed(0)
    net = build("tiny", keep_background=False)
    torch.nn.init.normal_(net.head.weight, std=0.5)
    composite, mask = _inputs(1, 32, 32)
    out = net(composite, mask)
    assert not torch.equal(out[mask.expand_as(out) == 0], composite[mask.expand_as(out) == 0])
