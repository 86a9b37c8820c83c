"""Harmonize anything: ``load_harmonizer(checkpoint=None, device="cpu")`` returns a callable.

``harmonizer(composite, mask)`` takes

- PIL images (RGB composite, greyscale or binary mask) → a PIL RGB image;
- numpy uint8 arrays, H×W×3 and H×W (mask 0/255, 0/1 or bool) → H×W×3 uint8;
- tensors, B×3×H×W in [0, 1] and B×1×H×W (or unbatched 3×H×W and 1×H×W) → the same shape,

of any size, and returns the same kind and size with every background pixel exactly the
composite's. This module only converts and checks inputs: the harmonization itself, at any
resolution (the paper's Table IV), is :meth:`hcl.model.HarmonizationNet.harmonize`. ``hcl evaluate``,
``hcl harmonize``, the benchmarks and the notebooks all go through it; so does training's validation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hcl.checkpoint import DEMO_CHECKPOINT, config_of, model_from_checkpoint
from hcl.ensemble import HarmonizationEnsemble
from hcl.errors import UserInputError
from hcl.model import FIT_SIDE, HarmonizationNet  # noqa: F401 - FIT_SIDE re-exported
from hcl.runtime import resolve_device


class Harmonizer:
    """A trained network with the size it runs at; call it on a composite and its mask."""

    def __init__(self, net: HarmonizationNet, net_size: int | None = None, device="cpu", source: str = ""):
        self.device = resolve_device(str(device))
        self.net = net.to(self.device).eval()
        self.net_size = int(net_size or net.image_size)
        self.source = source

    @property
    def networks(self) -> int:
        """How many networks' images it averages: 1, or the members of a :class:`hcl.ensemble.HarmonizationEnsemble`."""
        return len(self.net.members) if isinstance(self.net, HarmonizationEnsemble) else 1

    def __repr__(self) -> str:
        networks = f", {self.networks} networks averaged" if self.networks > 1 else ""
        return f"Harmonizer({self.source or 'network'}{networks}, runs at {self.net_size} px on {self.device})"

    def harmonize_tensor(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """B×3×H×W in [0, 1] and B×1×H×W (binarized at 0.5) → B×3×H×W, background exact:
        :meth:`hcl.model.HarmonizationNet.harmonize` at this harmonizer's size."""
        return self.net.harmonize(composite, mask, self.net_size)

    def __call__(self, composite, mask):
        if isinstance(composite, torch.Tensor):
            return self._tensor(composite, mask)
        if isinstance(composite, np.ndarray):
            return self._array(composite, _mask_array(mask))
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover - pillow is a dependency
            Image = None
        if Image is not None and isinstance(composite, Image.Image):
            out = self._array(np.asarray(composite.convert("RGB")), _mask_array(mask))
            return Image.fromarray(out)
        raise UserInputError(f"composite of type {type(composite).__name__}: pass a PIL image, a uint8 numpy "
                             "array H×W×3 or a float tensor B×3×H×W in [0, 1]")

    def _tensor(self, composite: torch.Tensor, mask) -> torch.Tensor:
        mask = torch.as_tensor(mask)
        unbatched = composite.dim() == 3
        batch_composite = composite[None] if unbatched else composite
        batch_mask = mask.reshape(1, 1, *mask.shape[-2:]) if unbatched else mask
        if batch_mask.dim() == 3:  # B×H×W
            batch_mask = batch_mask[:, None]
        if batch_composite.dim() != 4 or batch_composite.shape[1] != 3:
            raise UserInputError(f"composite tensor of shape {tuple(composite.shape)}: expected B×3×H×W in [0, 1]")
        if batch_mask.shape[0] != batch_composite.shape[0] or batch_mask.shape[1] != 1 or \
                batch_mask.shape[-2:] != batch_composite.shape[-2:]:
            raise UserInputError(f"mask tensor of shape {tuple(mask.shape)} does not fit the composite "
                                 f"{tuple(composite.shape)}: expected B×1×H×W")
        out = self.harmonize_tensor(batch_composite, batch_mask)
        return out[0] if unbatched else out

    def _array(self, composite: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if composite.dtype != np.uint8 or composite.ndim != 3 or composite.shape[2] != 3:
            raise UserInputError(f"composite array {composite.dtype} {composite.shape}: expected uint8 H×W×3")
        if mask.shape != composite.shape[:2]:
            raise UserInputError(f"mask is {mask.shape[1]}×{mask.shape[0]} but the composite is "
                                 f"{composite.shape[1]}×{composite.shape[0]}; resize the mask (nearest) to the image")
        image = torch.from_numpy(np.array(composite, copy=True)).permute(2, 0, 1)[None].float() / 255
        weights = torch.from_numpy(mask)[None, None].float()
        out = self.harmonize_tensor(image, weights)[0]  # the background: k/255, which rounds back to k
        return out.mul(255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def _mask_array(mask) -> np.ndarray:
    """A mask as H×W bool: PIL (any single-channel mode), bool, 0/1 or 0/255 arrays."""
    try:
        from PIL import Image

        if isinstance(mask, Image.Image):
            mask = np.asarray(mask.convert("L"))
    except ImportError:  # pragma: no cover
        pass
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise UserInputError(f"mask of shape {mask.shape}: expected H×W (0/255, 0/1 or bool)")
    if mask.dtype == bool:
        return mask
    peak = mask.max() if mask.size else 0
    return mask >= (128 if peak > 1 else 0.5)


def net_size_of(state: dict) -> int:
    """The image size a checkpoint's network was trained at."""
    return config_of(state).data.image_size


def load_harmonizer(checkpoint: str | Path | None = None, device="cpu") -> Harmonizer:
    """The harmonizer of a checkpoint (``None``: the shipped demo checkpoint) on ``device``. A checkpoint of
    several networks (the shipped demo holds three) averages their images: :mod:`hcl.ensemble`."""
    net, state = model_from_checkpoint(checkpoint, device)
    source = str(checkpoint) if checkpoint is not None else f"the demo checkpoint {DEMO_CHECKPOINT.name}"
    return Harmonizer(net, net_size_of(state), device, source)
