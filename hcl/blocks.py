"""Residual blocks of the ResUNet encoder and decoder (section III-A; Zhang et al., ResUNet)."""

from __future__ import annotations

import torch
from torch import nn


def norm(channels: int) -> nn.GroupNorm:
    """Group normalization (8 groups, or fewer for narrow layers): per image, so a short training
    run behaves the same in train and eval mode, unlike batch normalization's running statistics."""
    return nn.GroupNorm(min(8, channels // 4) or 1, channels)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class ResidualBlock(nn.Module):
    """``y = act( N(conv(act(N(conv(x))))) + shortcut(x) )`` with N a group norm (:func:`norm`).

    The shortcut is the identity when shapes agree, else a strided 1×1 convolution with a norm.
    B×in×H×W → B×out×H/stride×W/stride.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.norm1 = norm(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.norm2 = norm(out_channels)
        self.act = nn.ReLU(inplace=True)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), norm(out_channels)
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.act(self.norm1(self.conv1(x)))
        residual = self.norm2(self.conv2(residual))
        return self.act(residual + self.shortcut(x))


class UpBlock(nn.Module):
    """Bilinear ×2 upsampling then a 1×1 convolution to the skip's width: B×in×h×w → B×out×2h×2w."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.project = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.up(x))
