"""The solutions that fill the notebooks' "Your turn" blanks agree with hcl's own functions, and a
wrong solution does not (so the notebooks' checks can fail)."""

from __future__ import annotations

import pytest
import torch

from hcl import exercises, metrics
from hcl.contrastive import infonce_from_logits
from hcl.model import build
from hcl.stats import masked_mean_std
from hcl.train import learning_rate_factor


def _images(seed=0):
    g = torch.Generator().manual_seed(seed)
    composite, real = torch.rand(2, 3, 16, 16, generator=g), torch.rand(2, 3, 16, 16, generator=g)
    mask = (torch.rand(2, 1, 16, 16, generator=g) > 0.6).float()
    return composite, real, mask


def test_each_solution_equals_the_package_function():
    composite, real, mask = _images()
    assert exercises.composite_fmse(composite[0], real[0], mask[0]) == pytest.approx(
        float(metrics.fmse(composite, real, mask)[0]), rel=1e-5)
    pred = torch.rand_like(composite)
    assert torch.allclose(exercises.keep_background(composite, mask, pred), build("tiny").compose(composite, mask, pred))
    x = torch.randn(2, 8, 16, 16)
    assert torch.allclose(exercises.region_mean(x, mask), masked_mean_std(x, mask)[0], atol=1e-6)
    logits = torch.randn(17) / 0.07
    assert float(exercises.infonce_one_query(logits)) == pytest.approx(float(infonce_from_logits(logits[None, None])[0]), rel=1e-5)
    for step in range(0, 100, 7):
        assert exercises.cosine_factor(step, 100, 10) == pytest.approx(learning_rate_factor(step, 100, "cosine", 10))
    assert exercises.psnr_from_mse(float(metrics.mse(composite, real)[0])) == pytest.approx(float(metrics.psnr(composite, real)[0]))


def test_a_wrong_answer_fails_the_notebooks_check():
    from hcl.tutorial import compare

    composite, real, mask = _images(1)
    wrong = ((255 * (composite[0] - real[0])) ** 2 * mask[0]).sum() / mask[0].sum()  # forgot the three channels
    with pytest.raises(AssertionError):
        compare("a wrong fMSE", wrong, metrics.fmse(composite, real, mask)[0])
