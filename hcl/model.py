"""The harmonization network (section III-A, Fig. 1): a ResUNet with S2AM and style fusion.

Input: composite ``I'`` (B×3×H×W in [0, 1]) and mask ``M'`` (B×1×H×W), concatenated (4 channels).
Encoder: a stem and ``len(widths) − 1`` stride-2 stages of residual blocks, giving feature maps
``E_0 … E_L``. Decoder: for each stage, upsample, concatenate the skip ``E_i``, residual blocks →
``D_i``; then S2AM and style fusion with ``E_i`` (the encoder list reversed, so shapes match).

Output: the network predicts a change of the composite; the harmonized image is
``M·pred + (1 − M)·I`` (``keep_background=True``, the default), so the background is the
composite's, bit for bit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hcl.attention import S2AM
from hcl.blocks import ResidualBlock, UpBlock, norm
from hcl.fusion import StyleFusion


@dataclass
class ModelConfig:
    widths: tuple[int, ...] = (16, 32, 64, 128)
    blocks_per_stage: int = 1
    s2am: bool = True
    fusion: str = "external"  # 'none' | 'adain' | 'rain' | 'external'
    fusion_residual: bool = False
    keep_background: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


CONFIGS: dict[str, ModelConfig] = {
    # 28.62 M parameters, +0.9 % from the paper's 28.37 M (Table II, "#Param."): five scales,
    # three residual blocks per stage, widths doubling from 32 and a 576-wide bottleneck
    "paper": ModelConfig(widths=(32, 64, 128, 256, 576), blocks_per_stage=3),
    # 0.60 M parameters: trains on a laptop CPU
    "tiny": ModelConfig(widths=(16, 32, 64, 128), blocks_per_stage=1),
}


def _stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [ResidualBlock(in_channels, out_channels, stride)]
    layers += [ResidualBlock(out_channels, out_channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def resize_mask_to(mask: torch.Tensor, size) -> torch.Tensor:
    """The mask at a stage's resolution: area averaging, so boundaries become soft weights."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    return F.adaptive_avg_pool2d(mask, size)


class HarmonizationNet(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        widths = config.widths
        self.stem = nn.Sequential(
            nn.Conv2d(4, widths[0], 3, padding=1, bias=False), norm(widths[0]), nn.ReLU(inplace=True),
            _stage(widths[0], widths[0], config.blocks_per_stage, 1),
        )
        self.encoder = nn.ModuleList(
            _stage(widths[i - 1], widths[i], config.blocks_per_stage, 2) for i in range(1, len(widths))
        )
        # decoder stage j produces D_j with widths[j] channels, for j = L−1 … 0
        self.up = nn.ModuleList(UpBlock(widths[j + 1], widths[j]) for j in reversed(range(len(widths) - 1)))
        self.decoder = nn.ModuleList(
            _stage(2 * widths[j], widths[j], config.blocks_per_stage, 1) for j in reversed(range(len(widths) - 1))
        )
        self.attention = nn.ModuleList(
            S2AM(widths[j]) if config.s2am else nn.Identity() for j in reversed(range(len(widths) - 1))
        )
        self.fusion = nn.ModuleList(
            StyleFusion(widths[j], config.fusion, config.fusion_residual) for j in reversed(range(len(widths) - 1))
        )
        self.head = nn.Conv2d(widths[0], 3, 1)
        nn.init.zeros_(self.head.weight)  # starts as the identity: prediction = composite
        nn.init.zeros_(self.head.bias)

    @property
    def stride(self) -> int:
        return 2 ** (len(self.config.widths) - 1)

    def check_size(self, height: int, width: int) -> None:
        if height % self.stride or width % self.stride:
            raise ValueError(
                f"input is {height}×{width} but the network needs sides divisible by {self.stride}; "
                f"resize or pad to e.g. {height - height % self.stride or self.stride}×{width - width % self.stride or self.stride}"
            )

    def features(self, composite: torch.Tensor, mask: torch.Tensor) -> dict:
        """The forward pass with every intermediate: encoder maps E_0…E_L, decoder maps before
        (``decoder``) and after fusion (``fused``), in decoder order (coarse → fine), and ``pred``."""
        self.check_size(*composite.shape[-2:])
        x = self.stem(torch.cat([composite, mask], dim=1))
        encoder = [x]
        for stage in self.encoder:
            x = stage(x)
            encoder.append(x)
        skips = encoder[-2::-1]  # E_{L−1}, …, E_0: the encoder list reversed
        decoder, fused = [], []
        for up, stage, attention, fusion, skip in zip(self.up, self.decoder, self.attention, self.fusion, skips):
            stage_mask = resize_mask_to(mask, skip.shape[-2:])
            d = stage(torch.cat([up(x), skip], dim=1))
            if self.config.s2am:
                d = attention(d, stage_mask)
            decoder.append(d)
            x = fusion(d, skip, stage_mask)
            fused.append(x)
        pred = (composite + self.head(x)).clamp(0, 1)
        return {"encoder": encoder, "skips": skips, "decoder": decoder, "fused": fused, "pred": pred}

    def forward(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """B×3×H×W composite in [0, 1], B×1×H×W mask → B×3×H×W harmonized image in [0, 1]."""
        pred = self.features(composite, mask)["pred"]
        if self.config.keep_background:
            return composite + mask * (pred - composite)  # exactly the composite where mask = 0
        return pred


def build(name: str = "tiny", **overrides) -> HarmonizationNet:
    """``build('paper')`` (28.62 M parameters) or ``build('tiny')`` (0.60 M), with ``ModelConfig``
    fields overridden by keyword (``s2am=False``, ``fusion='rain'``, …)."""
    if name not in CONFIGS:
        raise ValueError(f"unknown model config {name!r}; choose from {sorted(CONFIGS)}")
    base = CONFIGS[name].to_dict()
    unknown = set(overrides) - set(base)
    if unknown:
        raise TypeError(f"unknown model options {sorted(unknown)}; valid: {sorted(base)}")
    base.update(overrides)
    base["widths"] = tuple(base["widths"])
    return HarmonizationNet(ModelConfig(**base))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def parameter_table(net: HarmonizationNet) -> dict[str, int]:
    """Parameters per part of the network (the 'stem', 'encoder', 'decoder', 'S2AM', 'fusion', 'head')."""
    return {
        "stem": count_parameters(net.stem),
        "encoder": count_parameters(net.encoder),
        "decoder": count_parameters(net.up) + count_parameters(net.decoder),
        "S2AM": count_parameters(net.attention),
        "fusion": count_parameters(net.fusion),
        "head": count_parameters(net.head),
    }
