"""The harmonization network (section III-A, Fig. 1): a ResUNet with S2AM and style fusion.

Input: composite ``I'`` (B×3×H×W in [0, 1]) and mask ``M'`` (B×1×H×W), concatenated (4 channels).
Encoder: a stem and ``len(widths) − 1`` stride-2 stages of residual blocks, giving feature maps
``E_0 … E_L`` (finest first). Decoder: stage ``D_j`` for ``j = L−1 … 0`` (coarse to fine) upsamples,
concatenates the skip ``E_j`` (same shape), applies residual blocks, then S2AM and style fusion with
``E_j``. The paper indexes the pairs the other way round ("we reverse the order of encoder feature
maps"); we name each decoder map by the encoder map it meets, so ``D_j`` always pairs with ``E_j``.

Output (``ModelConfig.head``):

- ``'image'``: a 1×1 convolution predicts the change of the composite, ``pred = I' + Δ``.
- ``'transform'`` (default, ours): one affine colour transform per image, ``pred = A·I' + b``,
  estimated across the mask's boundary and refined from the decoder's features
  (:mod:`hcl.colour_transform`). A departure from the paper's image output.

The harmonized image is ``M·pred + (1 − M)·I'`` (``keep_background``), so the background is the
composite's, bit for bit.
"""

from __future__ import annotations

import torch
from torch import nn

from hcl.attention import S2AM
from hcl.blocks import ResidualBlock, UpBlock, norm
from hcl.config import PRESETS, ModelConfig
from hcl.data.imageio import resize_mask
from hcl.errors import UserInputError
from hcl.colour_transform import ColourTransformHead, apply_colour_transform  # noqa: F401 - re-exported
from hcl.fusion import StyleFusion

CONFIGS: dict[str, ModelConfig] = {name: run.model for name, run in PRESETS.items()}


def _stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [ResidualBlock(in_channels, out_channels, stride)]
    layers += [ResidualBlock(out_channels, out_channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


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
        levels = list(reversed(range(len(widths) - 1)))  # decoder stage j meets skip E_j, coarse → fine
        self.up = nn.ModuleList(UpBlock(widths[j + 1], widths[j]) for j in levels)
        self.decoder = nn.ModuleList(_stage(2 * widths[j], widths[j], config.blocks_per_stage, 1) for j in levels)
        # S2AM 'original' works on the concatenation (2·C_j) before the stage, at every scale but the finest
        self.attention = nn.ModuleList(
            S2AM(widths[j], "ours") if config.s2am == "ours"
            else S2AM(2 * widths[j], "original") if config.s2am == "original" and j > 0
            else nn.Identity()
            for j in levels
        )
        self.fusion = nn.ModuleList(
            StyleFusion(widths[j], config.fusion, config.fusion_residual, config.psi_input) for j in levels
        )
        if config.head == "image":
            self.head = nn.Conv2d(widths[0], 3, 1)
            nn.init.zeros_(self.head.weight)  # starts as the identity: prediction = composite
            nn.init.zeros_(self.head.bias)
        else:
            self.head = ColourTransformHead(widths[0], statistics=config.head_statistics)

    @property
    def stride(self) -> int:
        return 2 ** (len(self.config.widths) - 1)

    def check_size(self, height: int, width: int) -> None:
        if height % self.stride or width % self.stride:
            down = lambda side: max(self.stride, side - side % self.stride)
            up = lambda side: -(-side // self.stride) * self.stride
            raise UserInputError(
                f"input is {height}×{width} but the network needs sides divisible by {self.stride}; "
                f"crop to {down(height)}×{down(width)} or pad to {up(height)}×{up(width)} "
                f"(hcl.inference.load_harmonizer takes any size and does this for you)"
            )

    def features(self, composite: torch.Tensor, mask: torch.Tensor) -> dict:
        """The forward pass with every intermediate: encoder maps ``E_0 … E_L`` (finest first), the
        skips in decoder order, decoder maps before (``decoder``) and after fusion (``fused``) in
        decoder order (coarse → fine), the colour transform ``theta`` (transform heads) and ``pred``."""
        self.check_size(*composite.shape[-2:])
        x = self.stem(torch.cat([composite, mask], dim=1))
        encoder = [x]
        for stage in self.encoder:
            x = stage(x)
            encoder.append(x)
        skips = encoder[-2::-1]  # E_{L−1}, …, E_0
        decoder, fused = [], []
        for up, stage, attention, fusion, skip in zip(self.up, self.decoder, self.attention, self.fusion, skips):
            stage_mask = resize_mask(mask, skip.shape[-2:], soft=True)
            joined = torch.cat([up(x), skip], dim=1)
            if self.config.s2am == "original" and isinstance(attention, S2AM):
                joined = attention(joined, stage_mask)
            d = stage(joined)
            if self.config.s2am == "ours":
                d = attention(d, stage_mask)
            decoder.append(d)
            x = fusion(d, skip, stage_mask)
            fused.append(x)
        out = {"encoder": encoder, "skips": skips, "decoder": decoder, "fused": fused, "final": x}
        if self.config.head == "image":
            out["pred"] = (composite + self.head(x)).clamp(0, 1)
        else:
            out["theta"] = self.head(x, composite, mask)
            out["pred"] = apply_colour_transform(out["theta"], composite).clamp(0, 1)
        return out

    def forward(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """B×3×H×W composite in [0, 1], B×1×H×W mask → B×3×H×W harmonized image in [0, 1]."""
        return self.compose(composite, mask, self.features(composite, mask)["pred"])

    def compose(self, composite: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """``M·pred + (1 − M)·I'`` (with ``keep_background``): exactly the composite where mask = 0."""
        if self.config.keep_background:
            return composite + mask * (pred - composite)
        return pred


def build(name: str | ModelConfig = "tiny", **overrides) -> HarmonizationNet:
    """``build('paper')`` (28.4 M parameters), ``build('tiny')`` (0.6 M) or ``build(ModelConfig(...))``,
    with ``ModelConfig`` fields overridden by keyword (``s2am='none'``, ``fusion='rain'``, …)."""
    if isinstance(name, ModelConfig):
        base = name
    elif name in CONFIGS:
        base = CONFIGS[name]
    else:
        raise UserInputError(f"unknown model config {name!r}; choose from {sorted(CONFIGS)}")
    valid = set(ModelConfig.__dataclass_fields__)
    unknown = set(overrides) - valid
    if unknown:
        raise TypeError(f"unknown model options {sorted(unknown)}; valid: {sorted(valid)}")
    from dataclasses import replace

    return HarmonizationNet(replace(base, **overrides))


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
