"""S2AM: spatial-separated attention (Cun & Pun, "Improving the harmony of the composite image by
spatial-separated attention module", TIP 2020), used in the decoder stages (section III-A).

Three channel gates look at the same feature map: one for the background, one for the foreground
(followed by a learning block that can change the foreground's appearance) and one that mixes
the original foreground features back in. A Gaussian-smoothed mask blends the two regions so
the seam is soft:

    out = (L(G_fg(x)) + G_mix(x)) · M_s + G_bg(x) · (1 − M_s)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hcl.blocks import norm


class ChannelGate(nn.Module):
    """Squeeze-and-excitation: ``x · sigmoid(W2 relu(W1 avgpool(x))))``, one weight per channel."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.fc(x.mean(dim=(2, 3)))
        return x * weights[:, :, None, None]


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """1-D Gaussian of radius ⌈3σ⌉, summing to 1."""
    radius = max(1, int(3 * sigma + 0.5))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def smooth_mask(mask: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of a B×1×H×W mask with replicated borders."""
    radius = kernel.numel() // 2
    kernel = kernel.to(mask.dtype)
    mask = F.pad(mask, (radius, radius, radius, radius), mode="replicate")
    mask = F.conv2d(mask, kernel.view(1, 1, 1, -1))
    return F.conv2d(mask, kernel.view(1, 1, -1, 1))


class S2AM(nn.Module):
    """Spatial-separated attention on a decoder feature map: B×C×H×W, mask B×1×H×W → B×C×H×W."""

    def __init__(self, channels: int, reduction: int = 8, sigma: float = 1.0):
        super().__init__()
        self.background_gate = ChannelGate(channels, reduction)
        self.foreground_gate = ChannelGate(channels, reduction)
        self.mix_gate = ChannelGate(channels, reduction)
        self.learning_block = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), norm(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.register_buffer("kernel", gaussian_kernel(sigma), persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        smoothed = smooth_mask(mask, self.kernel)
        foreground = self.learning_block(self.foreground_gate(x)) + self.mix_gate(x)
        return foreground * smoothed + self.background_gate(x) * (1 - smoothed)
