"""The boundary-fit baseline: what an untrained transform-head network outputs, evaluated beside it."""

from __future__ import annotations

import torch

from hcl.baselines import BoundaryFit
from hcl.model import build


def _composite(height=64, width=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    real = torch.stack([0.3 + 0.4 * xx, 0.5 - 0.3 * yy, 0.4 + 0.2 * xx * yy])[None]
    real = (real + 0.01 * torch.randn(real.shape, generator=generator)).clamp(0, 1)
    mask = torch.zeros(1, 1, height, width)
    mask[..., height // 4: 3 * height // 4, width // 3: 5 * width // 6] = 1
    composite = torch.where(mask > 0, (0.7 * real + torch.tensor([0.2, 0.05, 0.1])[:, None, None]).clamp(0, 1), real)
    return composite, mask, real


def test_an_untrained_transform_head_network_outputs_exactly_the_fit():
    torch.manual_seed(0)
    net = build("demo", image_size=64).eval()
    for height, width in ((64, 64), (400, 600)):  # the second takes the FIT_SIDE path
        composite, mask, _ = _composite(height, width)
        assert torch.allclose(net.harmonize(composite, mask), BoundaryFit(64).harmonize(composite, mask), atol=1e-5)


def test_the_fit_undoes_a_global_change_across_a_boundary_through_one_surface_and_keeps_the_background():
    composite, mask, real = _composite()
    out = BoundaryFit(64).harmonize(composite, mask)
    inside = mask.expand_as(real) > 0
    before = ((composite - real)[inside] ** 2).mean()
    after = ((out - real)[inside] ** 2).mean()
    assert after < 0.1 * before
    assert torch.equal(out[~inside], composite[~inside])
    # an empty mask changes nothing and produces no NaN
    empty = BoundaryFit(64).harmonize(composite, torch.zeros_like(mask))
    assert torch.equal(empty, composite)


def test_evaluate_reports_the_fit_row_beside_the_model(mini_root):
    from hcl.data import IHarmony4
    from hcl.evaluate import evaluate, summarize, table

    dataset = IHarmony4(mini_root, "test", image_size=64)
    net = build("demo", image_size=64).eval()
    summary = summarize(evaluate(dataset, net, progress=False, limit=8, baselines=True))
    assert list(summary) == ["composite", "fit", "model"]
    assert abs(summary["fit"]["All"]["fmse"] - summary["model"]["All"]["fmse"]) < 1e-2  # untrained = the fit
    assert "boundary fit alone" in table(summary, "III")
