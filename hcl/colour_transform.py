r"""Our output head (not in the paper): one affine colour transform per image, estimated across the
mask's boundary and refined from the network's features.

The paper's generator outputs an image. On a CPU, with a few training photos, a network that paints
pixels learns slowly and memorizes its scenes (a plain UNet gains about 20 % on the mini test split,
then stalls). A composite's foreground, though, differs from the truth by one colour change, and one
affine map of RGB, ``pred = A·I' + b`` (A 3×3, b 3), undoes 97 % of the foreground error on the mini
test split when fitted to the truth (an oracle). The head predicts that map, θ = (A − I, b):

1. **Boundary fit** (closed form, no parameters): where the mask cuts through a surface, the same
   material lies on both sides of the boundary. For every pixel near the boundary we take the mean
   colour of the foreground pixels, ``m_in``, and of the background pixels, ``m_out``, in a small
   window, and solve the ridge least squares ``min Σ β·‖A·m_in + b − m_out‖² + λ‖(A, b) − (I, 0)‖²``
   (β: how evenly the window is split). Where a mask cuts through one surface this alone undoes most
   of the change: on an earlier mini set whose masks were generated regions (superpixel unions,
   blobs) it removed 70 % of the test fMSE. On object outlines, as in iHarmony4, the two sides of
   the boundary are different materials: on today's mini test split it makes the foreground *worse*
   on average (fMSE 1503 → 1737, ``hcl evaluate``; better only on the Hday2night-like relighting). It
   is reported as a baseline (:mod:`hcl.baselines`); the network must learn when to trust it.
   The network learns which windows to trust: a 3×3 convolution of its final features gives each
   window a log-weight (0 at initialization), so where the boundary is a real object edge (two
   materials) it can count less.
2. **Learned correction**: an MLP reads the decoder's final features pooled over the foreground (with
   learned softmax weights: the net chooses where to look) and over the background, the composite's
   region colour statistics (foreground, background, and the two rings along the boundary) and the
   boundary fit with its residual, and adds Δθ. Its last layer starts at zero, so training starts
   from the boundary fit.

In the spirit of parametric harmonization (PCT-Net, Guerreiro et al., CVPR 2023; S2CRNet, Liang et
al., ECCV 2022, which the paper compares in its Table IV as S2CRNet-VGG). One transform per image
cannot paint texture, and it applies exactly at any resolution (:mod:`hcl.inference`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hcl.config import ModelConfig
from hcl.tensors import resize_mask
from hcl.stats import masked_mean, masked_mean_std

STATISTICS = 2 * 3 * 6 + 12 + 1  # six regions' mean/std, the boundary fit θ and its residual


def apply_colour_transform(theta: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """``(I + θ[:9])·image + θ[9:]`` per pixel. θ: B×12×h×w with h, w either 1 or the image's;
    image: B×3×H×W."""
    matrix = theta[:, :9].reshape(theta.shape[0], 3, 3, *theta.shape[-2:])
    return image + torch.einsum("bij...,bj...->bi...", matrix, image) + theta[:, 9:]


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Binary dilation of a B×1×H×W mask by a (2·radius + 1)² square (two separable max-pools)."""
    mask = F.max_pool2d(mask, (1, 2 * radius + 1), 1, (0, radius))
    return F.max_pool2d(mask, (2 * radius + 1, 1), 1, (radius, 0))


FIT_RADIUS = 2  # the boundary fit's windows are 5×5 pixels at any resolution (best on the validation photos)
FIT_SIDE = 256  # at full size, the colour transform is estimated on at most this many pixels along the longest side


def fit_size(shape: tuple[int, int], net_size: tuple[int, int]) -> tuple[int, int]:
    """The size the colour transform of an ``shape``-sized image is estimated at: the image scaled so its
    longer side is at most :data:`FIT_SIDE`, and never smaller than the network's own size."""
    scale = min(1.0, FIT_SIDE / max(shape))
    return max(net_size[0], round(shape[0] * scale)), max(net_size[1], round(shape[1] * scale))


def ring_width(height: int, width: int) -> int:
    """The width of the inner/outer rings of the region statistics: 2 px at 128 px, growing with the image."""
    return max(2, round(min(height, width) / 64))


def boundary_colour_fit(image: torch.Tensor, mask: torch.Tensor, radius: int = 2, ridge: float = 0.1,
                        trust: torch.Tensor | None = None):
    """The closed-form boundary fit: ``(θ B×12, residual B×1)``.

    ``m_in``, ``m_out``: mean colour of the mask's and of the background's pixels in each
    (2r+1)² window; weights β = 4·w_in·w_out (1 where the window is split evenly, 0 away from the
    boundary), times ``trust`` (B×1×H×W, optional: how much a window is believed to show one surface
    on both sides). Solves the 4×4 normal equations of ``min Σ β‖[m_in, 1]·S − m_out‖² + λ‖S − S_0‖²``
    per image (S_0 the identity), so an image without a boundary gets θ = 0."""
    mask = (mask >= 0.5).to(image.dtype)
    size = 2 * radius + 1
    inside = F.avg_pool2d(mask, size, 1, radius, count_include_pad=False)
    outside = 1 - inside
    mean_in = F.avg_pool2d(image * mask, size, 1, radius, count_include_pad=False) / inside.clamp_min(1e-3)
    mean_out = F.avg_pool2d(image * (1 - mask), size, 1, radius, count_include_pad=False) / outside.clamp_min(1e-3)
    weights = 4 * inside * outside
    if trust is not None:
        weights = weights * trust
    weights = weights.flatten(1)[..., None]  # B×N×1
    x = torch.cat([mean_in, torch.ones_like(inside)], dim=1).flatten(2).transpose(1, 2)  # B×N×4
    y = mean_out.flatten(2).transpose(1, 2)  # B×N×3
    total = weights.sum(1, keepdim=True).clamp_min(1.0)
    identity = torch.eye(4, dtype=image.dtype, device=image.device)
    prior = identity[:, :3]
    solution = torch.linalg.solve((x * weights).transpose(1, 2) @ x / total + ridge * identity,
                                  (x * weights).transpose(1, 2) @ y / total + ridge * prior)  # B×4×3
    residual = ((x @ solution - y) ** 2 * weights).sum((1, 2)) / total[:, 0, 0]
    theta = torch.cat([(solution[:, :3].transpose(1, 2) - identity[:3, :3]).flatten(1), solution[:, 3]], dim=1)
    return theta, residual[:, None]


def region_colour_statistics(image: torch.Tensor, mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Per-channel mean and std of ``image`` over six regions: foreground, background, and the inner
    and outer rings along the boundary at two widths (``radius`` and 3·``radius``): B×36."""
    mask = (mask >= 0.5).to(image.dtype)
    regions = [mask, 1 - mask]
    for width in (radius, 3 * radius):
        regions += [mask - (1 - dilate(1 - mask, width)), dilate(mask, width) - mask]
    return torch.cat([torch.cat(masked_mean_std(image, r), dim=1).flatten(1) for r in regions], dim=1)


class ColourTransformHead(nn.Module):
    """Decoder features, composite, mask → θ, one colour transform per image (B×12×1×1).

    ``statistics=False`` leaves out the boundary fit and the region statistics: the MLP then sees
    the network's pooled features only (an ablation row measures what the statistics bring)."""

    def __init__(self, channels: int, hidden: int = 128, statistics: bool = ModelConfig.head_statistics):
        super().__init__()
        self.statistics = statistics
        self.confidence = nn.Conv2d(channels, 1, 1)
        inputs = 2 * channels + (STATISTICS if statistics else 0)
        self.mlp = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 12))
        zeroed = [self.confidence, self.mlp[-1]]
        if statistics:
            self.trust = nn.Conv2d(channels, 1, 3, padding=1)  # log-weight of each boundary window in the fit
            zeroed.append(self.trust)
        for layer in zeroed:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def pooled_features(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Foreground features pooled with softmax(confidence) weights, background features averaged."""
        region = (mask >= 0.5).to(features.dtype)
        empty = region.flatten(1).sum(1) == 0
        region = torch.where(empty[:, None, None, None], torch.ones_like(region), region)  # no NaN on empty masks
        logits = self.confidence(features).float().masked_fill(region == 0, float("-inf"))
        weights = torch.softmax(logits.flatten(1), dim=1).view_as(logits).to(features.dtype)
        foreground = (features * weights).sum(dim=(2, 3))
        return torch.cat([foreground, masked_mean(features, 1 - region).flatten(1)], dim=1)

    def forward(self, features: torch.Tensor, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """features B×C×h×w; composite B×3×H×W and mask B×1×H×W at the features' size or larger (the
        fit and the statistics are more precise on more pixels: inference passes the full image)."""
        feature_mask = mask if mask.shape[-2:] == features.shape[-2:] else resize_mask(mask, features.shape[-2:])
        inputs = [self.pooled_features(features, feature_mask)]
        theta_fit = 0
        if self.statistics:
            with torch.autocast(composite.device.type, enabled=False):  # a 4×4 solve wants float32
                image, weights = composite.float(), mask.float()
                log_trust = self.trust(features.float()).clamp(-8, 8)
                if log_trust.shape[-2:] != image.shape[-2:]:
                    log_trust = F.interpolate(log_trust, size=image.shape[-2:], mode="bilinear", align_corners=False)
                theta_fit, residual = boundary_colour_fit(image, weights, FIT_RADIUS, trust=log_trust.exp())
                statistics = region_colour_statistics(image, weights, ring_width(*image.shape[-2:]))
            inputs += [statistics, theta_fit, (residual + 1e-8).sqrt()]
            theta_fit = theta_fit.to(features.dtype)
        correction = self.mlp(torch.cat([t.to(features.dtype) for t in inputs], dim=1))
        return (theta_fit + correction)[:, :, None, None]
