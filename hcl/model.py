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

Any size (the paper's Table IV): :meth:`HarmonizationNet.harmonize` runs the network at the size it
was trained at (``image_size``), runs the head once, carries its result to the full-size composite
and keeps the background there. :mod:`hcl.inference` only converts PIL images and arrays to tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hcl.attention import S2AM
from hcl.blocks import ResidualBlock, UpBlock, norm
from hcl.colour_transform import FIT_SIDE, ColourTransformHead, apply_colour_transform, fit_size  # noqa: F401
from hcl.config import PRESETS, DataConfig, ModelConfig, RunConfig
from hcl.errors import UserInputError
from hcl.fusion import StyleFusion
from hcl.tensors import resize_image, resize_mask

# (chosen on the validation photo: at 1024 px, fitting at 256 gave fMSE 398 against 446 at 512 and 612 at 1024;
# finer fits read the blurred pixels along the mask's edge)

CONFIGS: dict[str, ModelConfig] = {name: run.model for name, run in PRESETS.items()}


def _stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [ResidualBlock(in_channels, out_channels, stride)]
    layers += [ResidualBlock(out_channels, out_channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class HarmonizationNet(nn.Module):
    """The generator of Fig. 1, built from a :class:`hcl.config.ModelConfig`. ``image_size``: the side it
    was trained at, where :meth:`harmonize` runs it."""

    def __init__(self, config: ModelConfig, image_size: int = DataConfig.image_size):
        super().__init__()
        self.config = config
        self.image_size = int(image_size)
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
            S2AM(widths[j], "ours") if config.s2am == "ours" and (j > 0 or config.s2am_full_resolution)
            else S2AM(2 * widths[j], "original") if config.s2am == "original" and j > 0
            else nn.Identity()
            for j in levels
        )
        self.fusion = nn.ModuleList(
            StyleFusion.from_config(widths[j], config) for j in levels
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

    def decode(self, composite: torch.Tensor, mask: torch.Tensor) -> dict:
        """Encoder and decoder, without the head: encoder maps ``E_0 … E_L`` (finest first), the skips
        in decoder order, decoder maps before (``decoder``) and after fusion (``fused``) in decoder
        order (coarse → fine), and ``final``, the finest fused map the head reads."""
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
            if self.config.s2am == "ours" and isinstance(attention, S2AM):
                d = attention(d, stage_mask)
            decoder.append(d)
            x = fusion(d, skip, stage_mask)
            fused.append(x)
        return {"encoder": encoder, "skips": skips, "decoder": decoder, "fused": fused, "final": x}

    def features(self, composite: torch.Tensor, mask: torch.Tensor) -> dict:
        """The forward pass with every intermediate: :meth:`decode`'s maps, the colour transform
        ``theta`` (transform heads) and ``pred``, the network's image before the background is kept."""
        out = self.decode(composite, mask)
        if self.config.head == "image":
            out["pred"] = (composite + self.head(out["final"])).clamp(0, 1)
        else:
            out["theta"] = self.head(out["final"], composite, mask)
            out["pred"] = apply_colour_transform(out["theta"], composite).clamp(0, 1)
        return out

    def forward(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """B×3×H×W composite in [0, 1], B×1×H×W mask → B×3×H×W harmonized image in [0, 1]."""
        return self.compose(composite, mask, self.features(composite, mask)["pred"])

    @torch.no_grad()
    def harmonize(self, composite: torch.Tensor, mask: torch.Tensor, size: int | None = None) -> torch.Tensor:
        """Harmonize a B×3×H×W composite in [0, 1] with its B×1×H×W mask (binarized at 0.5), any H×W.

        The network runs at ``size``×``size`` (default :attr:`image_size`, its training size) and the head
        once. A colour transform is estimated on the composite resized to at most ``FIT_SIDE`` px and
        applied to the full-size composite; a predicted image's change ``pred − composite`` is masked
        at the network's size, upsampled and added. The background is the composite's, bit for bit, in
        its own dtype and on its own device (this is the one place it is kept)."""
        size = (size or self.image_size,) * 2
        device = next(self.parameters()).device
        image = composite.to(device, torch.float32)
        hard = (mask.to(device, torch.float32) >= 0.5).float()
        small, small_mask = resize_image(image, size), resize_mask(hard, size)
        final = self.decode(small, small_mask)["final"]
        if self.config.head == "image":
            change = small_mask * ((small + self.head(final)).clamp(0, 1) - small)
            if change.shape[-2:] != image.shape[-2:]:
                change = F.interpolate(change, size=image.shape[-2:], mode="bilinear", align_corners=False)
            pred = image + change
        else:
            at = fit_size(image.shape[-2:], size)
            theta = self.head(final, resize_image(image, at), resize_mask(hard, at))
            pred = apply_colour_transform(theta, image)
        pred = pred.clamp(0, 1).to(composite.device, composite.dtype)
        return torch.where(mask.to(composite.device) >= 0.5, pred, composite)

    def compose(self, composite: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """``M·pred + (1 − M)·I'`` (with ``keep_background``): exactly the composite where mask = 0."""
        if self.config.keep_background:
            return composite + mask * (pred - composite)
        return pred


def build(name: str | ModelConfig | RunConfig = "tiny", image_size: int | None = None, **overrides) -> HarmonizationNet:
    """``build('paper')`` (28.3 M parameters), ``build('tiny')`` (0.31 M), ``build('demo')`` (0.62 M) or
    ``build(ModelConfig(...))`` or ``build(preset("tiny"))`` (a whole run configuration),
    with ``ModelConfig`` fields overridden by keyword (``s2am='none'``, ``fusion='rain'``, …).
    ``image_size``: the side :meth:`HarmonizationNet.harmonize` runs it at (default: the preset's)."""
    if isinstance(name, RunConfig):  # a whole run's configuration: its model, at its training size
        base = name.model
        image_size = image_size or name.data.image_size
    elif isinstance(name, ModelConfig):
        base = name
        image_size = image_size or DataConfig.image_size
    elif name in CONFIGS:
        base = CONFIGS[name]
        image_size = image_size or PRESETS[name].data.image_size
    else:
        raise UserInputError(f"unknown model config {name!r}; choose from {sorted(CONFIGS)}")
    valid = set(ModelConfig.__dataclass_fields__)
    unknown = set(overrides) - valid
    if unknown:
        raise TypeError(f"unknown model options {sorted(unknown)}; valid: {sorted(valid)}")
    from dataclasses import replace

    return HarmonizationNet(replace(base, **overrides), image_size)


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
