"""hcl.inference: every input kind, any size, the background exact, any resolution done right."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hcl.errors import UserInputError
from hcl.inference import Harmonizer, load_harmonizer
from hcl.model import build


@pytest.fixture(scope="module")
def harmonizer():
    torch.manual_seed(0)
    net = build("demo")
    with torch.no_grad():
        net.head.mlp[-1].weight.normal_(std=0.05)  # a head that visibly changes colours
    return Harmonizer(net, 64)


def _pair(height, width, seed=0, mask_values=(0, 255)):
    rng = np.random.default_rng(seed)
    composite = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    mask = np.full((height, width), mask_values[0], np.uint8)
    mask[height // 4: 3 * height // 4, width // 3: 2 * width // 3] = mask_values[1]
    return composite, mask


@pytest.mark.parametrize("height,width", [(64, 64), (97, 130), (300, 41), (512, 384)])
@pytest.mark.parametrize("mask_values", [(0, 255), (0, 1)])
def test_numpy_in_numpy_out_same_shape_background_bytes_kept(harmonizer, height, width, mask_values):
    composite, mask = _pair(height, width, mask_values=mask_values)
    out = harmonizer(composite, mask)
    inside = mask > 0
    assert out.dtype == np.uint8 and out.shape == composite.shape
    assert np.array_equal(out[~inside], composite[~inside])
    assert not np.array_equal(out[inside], composite[inside])


def test_pil_in_pil_out(harmonizer):
    composite, mask = _pair(90, 70)
    out = harmonizer(Image.fromarray(composite), Image.fromarray(mask))
    assert isinstance(out, Image.Image) and out.size == (70, 90) and out.mode == "RGB"
    assert np.array_equal(np.asarray(out)[mask == 0], composite[mask == 0])


def test_tensors_batched_and_unbatched(harmonizer):
    composite = torch.rand(2, 3, 40, 56)
    mask = torch.zeros(2, 1, 40, 56)
    mask[:, :, 10:30, 5:20] = 1
    out = harmonizer(composite, mask)
    assert out.shape == composite.shape and out.dtype == composite.dtype
    assert torch.equal(out[mask.expand_as(out) == 0], composite[mask.expand_as(out) == 0])
    single = harmonizer(composite[0], mask[0])
    assert single.shape == composite[0].shape
    assert torch.allclose(single, out[0], atol=1e-5)


def test_one_colour_transform_is_applied_exactly_at_full_resolution(harmonizer):
    """Any resolution: the network runs at its size, the transform is estimated on the full-size
    composite and applied to its pixels — the output is that affine map of the composite, nothing is
    upsampled."""
    from hcl.colour_transform import apply_colour_transform
    from hcl.tensors import resize_image, resize_mask

    composite = torch.rand(1, 3, 256, 192)
    mask = torch.zeros(1, 1, 256, 192)
    mask[..., 60:200, 40:150] = 1
    out = harmonizer.harmonize_tensor(composite, mask)
    with torch.no_grad():
        final = harmonizer.net.features(resize_image(composite, (64, 64)), resize_mask(mask, (64, 64)))["final"]
        theta = harmonizer.net.head(final, composite, mask)
    expected = torch.where(mask.bool().expand_as(composite), apply_colour_transform(theta, composite).clamp(0, 1),
                           composite)
    assert torch.allclose(out, expected, atol=1e-6)


def test_large_images_fit_the_colour_transform_at_fit_side_and_apply_it_at_full_size(harmonizer):
    """Above FIT_SIDE px the transform is estimated on the composite resized to FIT_SIDE along its longest
    side (not on the full-size image) and applied to every full-size pixel."""
    from hcl.colour_transform import apply_colour_transform
    from hcl.model import FIT_SIDE
    from hcl.tensors import resize_image, resize_mask

    torch.manual_seed(3)
    composite = torch.rand(1, 3, 600, 400)
    mask = torch.zeros(1, 1, 600, 400)
    mask[..., 150:450, 100:300] = 1
    out = harmonizer.harmonize_tensor(composite, mask)
    fit = (FIT_SIDE, round(400 * FIT_SIDE / 600))
    with torch.no_grad():
        final = harmonizer.net.decode(resize_image(composite, (64, 64)), resize_mask(mask, (64, 64)))["final"]
        theta = harmonizer.net.head(final, resize_image(composite, fit), resize_mask(mask, fit))
        theta_full = harmonizer.net.head(final, composite, mask)
    inside = mask.bool().expand_as(composite)
    expected = apply_colour_transform(theta, composite).clamp(0, 1)
    assert torch.allclose(out[inside], expected[inside], atol=1e-6)
    assert not torch.allclose(theta, theta_full, atol=1e-4)  # the fit size matters: this is the path tested
    assert torch.equal(out[~inside], composite[~inside])


def test_the_image_head_adds_its_upsampled_change_inside_the_mask():
    """A head that predicts a constant change δ: far from the boundary the full-size output is the
    full-size composite + δ (its own pixels, not an upsampled image); the background is untouched."""
    torch.manual_seed(1)
    net = build("tiny", head="image")
    delta = torch.tensor([0.1, -0.05, 0.02])
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.copy_(delta)
    composite = 0.2 + 0.6 * torch.rand(1, 3, 96, 64)
    mask = torch.zeros(1, 1, 96, 64)
    mask[..., 16:80, 8:56] = 1
    out = Harmonizer(net, 32)(composite, mask)
    interior = (slice(None), slice(None), slice(28, 68), slice(20, 44))
    assert torch.allclose(out[interior], composite[interior] + delta.view(1, 3, 1, 1), atol=1e-6)
    assert torch.equal(out[mask.expand_as(out) == 0], composite[mask.expand_as(out) == 0])


@pytest.mark.parametrize("head", ["transform", "image"])
def test_harmonizing_a_512_px_image_runs_the_head_once(head):
    net = build("tiny", head=head, image_size=64)
    calls = []
    net.head.register_forward_hook(lambda module, inputs, output: calls.append(inputs[0].shape))
    composite, mask = torch.rand(1, 3, 512, 512), torch.zeros(1, 1, 512, 512)
    mask[..., 100:300, 200:400] = 1
    out = net.harmonize(composite, mask)
    assert len(calls) == 1 and calls[0][-2:] == (64, 64)  # once, on the network's 64 px features
    assert out.shape == composite.shape and torch.equal(out[mask.expand_as(out) == 0], composite[mask.expand_as(out) == 0])


def test_load_harmonizer_on_the_automatic_device():
    demo = load_harmonizer(device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert demo.device.type == expected and next(demo.net.parameters()).device.type == expected
    composite, mask = _pair(70, 50)
    assert demo(composite, mask).shape == composite.shape


def test_the_background_is_exact_in_the_callers_dtype():
    torch.manual_seed(0)
    net = build("tiny", image_size=32)
    composite = torch.rand(1, 3, 40, 40, dtype=torch.float64)
    mask = torch.zeros(1, 1, 40, 40)
    mask[..., 10:30, 10:30] = 1
    out = net.harmonize(composite, mask)
    assert out.dtype == torch.float64 and torch.equal(out[..., :10, :], composite[..., :10, :])


BAD = {
    "mask of another size": (np.zeros((10, 10, 3), np.uint8), np.zeros((9, 10), np.uint8), "resize the mask"),
    "float composite array": (np.zeros((10, 10, 3)), np.zeros((10, 10), np.uint8), "uint8"),
    "colour mask": (np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10, 3), np.uint8), "H×W"),
    "a list": ([[0]], np.zeros((1, 1), np.uint8), "PIL image"),
    "tensor mask of another size": (torch.rand(1, 3, 8, 8), torch.zeros(1, 1, 8, 9), "B×1×H×W"),
}


@pytest.mark.parametrize("problem", sorted(BAD))
def test_bad_inputs_are_refused_with_the_fix(harmonizer, problem):
    composite, mask, hint = BAD[problem]
    with pytest.raises(UserInputError, match=hint):
        harmonizer(composite, mask)


def test_load_harmonizer_without_a_checkpoint_is_the_shipped_demo():
    demo = load_harmonizer()
    composite, mask = _pair(123, 77)
    out = demo(composite, mask)
    assert out.shape == composite.shape and np.array_equal(out[mask == 0], composite[mask == 0])
    assert "demo" in repr(demo)


def test_the_seed_ensemble_tool_averages_its_members_inside_the_mask_only():
    """tools/seed_ensemble.py: the mean of the members' harmonized images, the composite's background exactly."""
    import sys

    from tests.conftest import REPO

    sys.path.insert(0, str(REPO / "tools"))
    from seed_ensemble import output_mean

    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        net = build("demo", image_size=64)
        torch.nn.init.normal_(net.head.mlp[-1].weight, std=0.05)
        members.append(Harmonizer(net, 64))
    composite = torch.rand(2, 3, 64, 64)
    mask = torch.zeros(2, 1, 64, 64)
    mask[..., 16:48, 20:40] = 1
    mean = output_mean(members).harmonize_tensor(composite, mask)
    outputs = [m.harmonize_tensor(composite, mask) for m in members]
    inside = mask.expand_as(composite) > 0
    torch.testing.assert_close(mean[inside], ((outputs[0] + outputs[1]) / 2)[inside])
    assert torch.equal(mean[~inside], composite[~inside])
    assert not torch.equal(outputs[0][inside], outputs[1][inside])  # the members differ
