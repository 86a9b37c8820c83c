"""S2AM: spatial-separated attention (Cun & Pun, "Improving the harmony of the composite image by
spatial-separated attention module", TIP 2020), used in the decoder (section III-A).

Three channel gates look at the same feature map ``x``: one for the background, one for the
foreground (followed by a learning block L that can change the foreground's appearance) and one
that mixes the original foreground features back in. A Gaussian-smoothed mask ``M_s`` blends the
two regions so the seam is soft:

    S2AM(x) = (L(G_fg(x)) + G_mix(x)) · M_s + G_bg(x) · (1 − M_s)

Two placements (``ModelConfig.s2am``):

- ``'original'``, as in Cun & Pun's code: on the concatenation of the upsampled decoder map and
  the skip, at the middle scales only (not at full resolution); gates from average *and* max
  pooling with reduction 16; a learning block C → 2C → C with ELU; the mask binarized, then a
  5-tap Gaussian (σ = √2) with reflected borders. One departure: group norm instead of batch norm,
  as everywhere in this network, so a short run behaves the same in train and eval mode.
- ``'ours'`` (the first implementation here): on each decoder stage's output, every scale
  including full resolution; gates from average pooling, reduction 8; a C → C learning block; the
  area-resized mask blurred with σ = 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from hcl.blocks import norm
from hcl.stats import gaussian_taps


class ChannelGate(nn.Module):
    """Squeeze-and-excitation: ``x · sigmoid(W2 relu(W1 pool(x)))``, one weight per channel.

    ``with_max``: pool by average *and* max and sum the two MLP outputs (CBAM, Cun & Pun)."""

    def __init__(self, channels: int, reduction: int = 8, with_max: bool = False):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.with_max = with_max
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.fc(x.mean(dim=(2, 3)))
        if self.with_max:
            logits = logits + self.fc(x.amax(dim=(2, 3)))
        return x * torch.sigmoid(logits)[:, :, None, None]


def smooth_mask(mask: torch.Tensor, taps: torch.Tensor, padding: str = "replicate") -> torch.Tensor:
    """Separable blur of a B×1×H×W mask with the 1-D ``taps`` (borders: 'replicate' or 'reflect')."""
    radius = taps.numel() // 2
    if padding == "reflect" and min(mask.shape[-2:]) <= radius:
        padding = "replicate"  # reflection needs more pixels than the radius
    taps = taps.to(mask.dtype)
    mask = F.pad(mask, (radius, radius, radius, radius), mode=padding)
    mask = F.conv2d(mask, taps.view(1, 1, 1, -1))
    return F.conv2d(mask, taps.view(1, 1, -1, 1))


class S2AM(nn.Module):
    """Spatial-separated attention on a feature map: B×C×H×W, mask B×1×H×W → B×C×H×W.

    ``variant='ours'`` or ``'original'`` (see the module docstring)."""

    def __init__(self, channels: int, variant: str = "ours"):
        super().__init__()
        self.variant = variant
        original = variant == "original"
        reduction = 16 if original else 8
        self.background_gate = ChannelGate(channels, reduction, with_max=original)
        self.foreground_gate = ChannelGate(channels, reduction, with_max=original)
        self.mix_gate = ChannelGate(channels, reduction, with_max=original)
        hidden = 2 * channels if original else channels
        activation = nn.ELU(inplace=True) if original else nn.ReLU(inplace=True)
        self.learning_block = nn.Sequential(
            nn.Conv2d(channels, hidden, 3, padding=1, bias=False), norm(hidden), activation,
            nn.Conv2d(hidden, channels, 3, padding=1),
        )
        taps = gaussian_taps(math.sqrt(2), radius=2) if original else gaussian_taps(1.0, radius=3)
        self.register_buffer("taps", taps.float(), persistent=False)

    def blend_weights(self, mask: torch.Tensor) -> torch.Tensor:
        """M_s: the mask (binarized for 'original') blurred by the Gaussian."""
        if self.variant == "original":
            return smooth_mask((mask >= 0.5).to(mask.dtype), self.taps, "reflect")
        return smooth_mask(mask, self.taps, "replicate")

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        smoothed = self.blend_weights(mask)
        foreground = self.learning_block(self.foreground_gate(x)) + self.mix_gate(x)
        return foreground * smoothed + self.background_gate(x) * (1 - smoothed)
