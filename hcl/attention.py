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
- ``'ours'``: on each decoder stage's output, at every scale but the finest (``s2am_full_resolution``
  adds it: at full resolution S2AM's maps are the largest and its cost is memory traffic more than
  arithmetic, ``benchmarks/bench_model.py``); gates from average pooling, reduction 8; a C → C
  learning block; the area-resized mask blurred with σ = 1.

Either way :meth:`S2AM.forward` pools the map once for the three gates and folds the two gates that
only rescale it into one per-pixel weight; :meth:`S2AM.explicit` is the combination gate by gate.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from hcl.blocks import norm
from hcl.config import ModelConfig
from hcl.stats import gaussian_taps


class ChannelGate(nn.Module):
    """Squeeze-and-excitation: ``x · sigmoid(W2 relu(W1 pool(x)))``, one weight per channel.

    ``with_max``: pool by average *and* max and sum the two MLP outputs (CBAM, Cun & Pun)."""

    def __init__(self, channels: int, reduction: int = 8, with_max: bool = False):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.with_max = with_max
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def weights(self, mean: torch.Tensor, peak: torch.Tensor | None = None) -> torch.Tensor:
        """The per-channel gate, B×C×1×1, from the pooled map: its mean (and max) over the pixels, B×C."""
        logits = self.fc(mean)
        if self.with_max:
            logits = logits + self.fc(peak)
        return torch.sigmoid(logits)[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights(x.mean(dim=(2, 3)), x.amax(dim=(2, 3)) if self.with_max else None)


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

    def __init__(self, channels: int, variant: str = ModelConfig.s2am):
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

    def explicit(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The combination as printed, gate by gate: what :meth:`forward` computes (both checked against loops in
        tests/reference.py)."""
        smoothed = self.blend_weights(mask)
        foreground = self.learning_block(self.foreground_gate(x)) + self.mix_gate(x)
        return foreground * smoothed + self.background_gate(x) * (1 - smoothed)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(L(G_fg(x)) + G_mix(x))·M_s + G_bg(x)·(1 − M_s)`` with the map pooled once for the three gates
        and the two channel gates that only rescale x folded into one per-pixel weight:
        ``L(G_fg(x))·M_s + x·(g_bg + M_s·(g_mix − g_bg))``."""
        smoothed = self.blend_weights(mask)
        mean = x.mean(dim=(2, 3))
        peak = x.amax(dim=(2, 3)) if self.variant == "original" else None
        g_fg, g_mix, g_bg = (gate.weights(mean, peak) for gate in (self.foreground_gate, self.mix_gate,
                                                                  self.background_gate))
        learned = self.learning_block(x * g_fg)
        return torch.addcmul(x * torch.addcmul(g_bg, smoothed, g_mix - g_bg), learned, smoothed)
