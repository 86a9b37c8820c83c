"""L_all of Eq. (13) and the metrics of section IV-C against scikit-image and hand formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from hcl import metrics
from hcl.losses import HarmonizationLoss, l1_loss, pixel_loss


def _pair(seed=0, batch=3, height=40, width=36):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(batch, 3, height, width, generator=g)
    pred = (target + 0.1 * torch.randn(batch, 3, height, width, generator=g)).clamp(0, 1)
    mask = (torch.rand(batch, 1, height, width, generator=g) > 0.7).float()
    return pred, target, mask


def test_pixel_loss_is_foreground_l1_per_image_then_batch_mean():
    pred, target, mask = _pair()
    expected = np.mean([float((mask[b] * (pred[b] - target[b]).abs()).sum() / (3 * mask[b].sum())) for b in range(3)])
    assert pixel_loss(pred, target, mask).item() == pytest.approx(expected, rel=1e-5)
    assert l1_loss(pred, target).item() == pytest.approx(float((pred - target).abs().mean()), rel=1e-6)


def test_total_loss_combines_the_terms_with_the_given_weights():
    pred, target, mask = _pair(height=64, width=64)
    terms = HarmonizationLoss(0.2, 0.3, 0.7, k=8)(pred, target, mask, torch.Generator().manual_seed(0), composite=pred)
    expected = 0.2 * terms["l1"] + 0.3 * terms["pixel"] + 0.7 * terms["hcl"]
    assert terms["total"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert terms["hcl"] > 0
    no_hcl = HarmonizationLoss(0.4, 0.5, 0.0)(pred, target, mask)
    assert no_hcl["hcl"].item() == 0 and no_hcl["total"].item() == pytest.approx(
        0.4 * no_hcl["l1"].item() + 0.5 * no_hcl["pixel"].item(), rel=1e-6)


def _numpy(image):
    return image.permute(1, 2, 0).double().numpy() * 255


def test_psnr_and_ssim_equal_scikit_image():
    pred, target, mask = _pair(seed=1)
    psnr, ssim = metrics.psnr(pred, target), metrics.ssim(pred, target)
    for b in range(3):
        assert psnr[b].item() == pytest.approx(peak_signal_noise_ratio(_numpy(target[b]), _numpy(pred[b]), data_range=255), rel=1e-10)
        reference = structural_similarity(_numpy(target[b]), _numpy(pred[b]), gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False, data_range=255, channel_axis=2)
        assert ssim[b].item() == pytest.approx(reference, rel=1e-10)


def test_mse_fmse_and_fssim_equal_hand_formulas():
    pred, target, mask = _pair(seed=2)
    for b in range(3):
        p, t, m = _numpy(pred[b]), _numpy(target[b]), mask[b, 0].double().numpy()[..., None]
        assert metrics.mse(pred, target)[b].item() == pytest.approx(((p - t) ** 2).mean(), rel=1e-10)
        assert metrics.fmse(pred, target, mask)[b].item() == pytest.approx((m * (p - t) ** 2).sum() / (3 * m.sum()), rel=1e-10)
        _, ssim_map = structural_similarity(t, p, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                            data_range=255, channel_axis=2, full=True)
        assert metrics.fssim(pred, target, mask)[b].item() == pytest.approx((ssim_map * m).sum() / (3 * m.sum()), rel=1e-10)


def test_psnr_conventions_are_named_and_differ():
    pred, target, _ = _pair(seed=3)
    target = target * 0.5  # peak well below 255
    default, issam = metrics.psnr(pred, target), metrics.psnr(pred, target, "issam")
    assert (issam < default).all()
    with pytest.raises(ValueError, match="convention"):
        metrics.psnr(pred, target, "mine")


def test_empty_mask_gives_zero_foreground_metrics_not_nan():
    pred, target, _ = _pair()
    empty = torch.zeros(3, 1, 40, 36)
    assert torch.equal(metrics.fmse(pred, target, empty), torch.zeros(3, dtype=torch.float64))
    assert torch.equal(metrics.fssim(pred, target, empty).double(), torch.zeros(3, dtype=torch.float64))  # 0, as documented


def test_dovenet_psnr_uses_the_range_of_the_prediction():
    pred, target, _ = _pair(seed=4)
    pred = 0.2 + 0.5 * pred  # range 0.2 … 0.7 of the 0–255 scale
    for b in range(3):
        p, t = _numpy(pred[b]), _numpy(target[b])
        expected = 10 * np.log10((p.max() - p.min()) ** 2 / ((p - t) ** 2).mean())
        assert metrics.psnr(pred, target, "dovenet")[b].item() == pytest.approx(expected, rel=1e-10)
        expected_issam = 10 * np.log10(t.max() ** 2 / ((p - t) ** 2).mean())
        assert metrics.psnr(pred, target, "issam")[b].item() == pytest.approx(expected_issam, rel=1e-10)


def test_pixel_losses_scale_with_the_loss_scale_and_l_hcl_does_not():
    pred, target, mask = _pair(height=64, width=64)
    unit = HarmonizationLoss(0.4, 0.5, 0.1, k=8, reading="spread", pixel_scale=1.0)
    scaled = HarmonizationLoss(0.4, 0.5, 0.1, k=8, reading="spread", pixel_scale=255.0)
    scaled.load_state_dict(unit.state_dict())
    a = unit(pred, target, mask, torch.Generator().manual_seed(0))
    b = scaled(pred, target, mask, torch.Generator().manual_seed(0))
    assert b["l1"].item() == pytest.approx(255 * a["l1"].item(), rel=1e-5)
    assert b["pixel"].item() == pytest.approx(255 * a["pixel"].item(), rel=1e-5)
    assert b["hcl"].item() == pytest.approx(a["hcl"].item(), rel=1e-6)


def test_no_contrastive_mlp_is_built_when_its_weight_is_zero():
    assert not list(HarmonizationLoss(0.4, 0.5, 0.0).parameters())
    assert list(HarmonizationLoss(0.4, 0.5, 0.1).parameters())
