"""Classical baselines, evaluated by the same code as the model (like the paper's traditional-method rows).

:class:`BoundaryFit` is the closed-form colour fit across the mask's boundary
(:func:`hcl.colour_transform.boundary_colour_fit`) and nothing else: one affine colour map per image,
fitted so the colours just inside the mask match those just outside, estimated at the same size
and applied at full size exactly as :meth:`hcl.model.HarmonizationNet.harmonize` applies the
network's transform. It has no parameters and is never trained. A network with our colour-transform
head starts as exactly this map (its learned parts start at zero), so its "untrained" row equals
this one; what training adds is the difference to it.
"""

from __future__ import annotations

import torch

from hcl.colour_transform import FIT_RADIUS, apply_colour_transform, boundary_colour_fit, fit_size
from hcl.config import DataConfig
from hcl.tensors import resize_image, resize_mask


class BoundaryFit:
    """``harmonize(composite B×3×H×W, mask B×1×H×W) → B×3×H×W``: the boundary fit alone; the
    background is the composite's, bit for bit. ``image_size``: the network size it mirrors (the fit
    is never estimated on fewer pixels than that)."""

    name = "boundary fit alone"

    def __init__(self, image_size: int = DataConfig.image_size):
        self.image_size = image_size

    @torch.no_grad()
    def harmonize(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        image = composite.float()
        hard = (mask.float() >= 0.5).float()
        at = fit_size(image.shape[-2:], (self.image_size, self.image_size))
        theta, _ = boundary_colour_fit(resize_image(image, at), resize_mask(hard, at), FIT_RADIUS)
        pred = apply_colour_transform(theta[:, :, None, None], image).clamp(0, 1).to(composite.dtype)
        return torch.where(mask >= 0.5, pred, composite)

    harmonize_tensor = harmonize  # the name a Harmonizer's tensor path has, so both drop into the same loops

    def __repr__(self) -> str:
        return f"BoundaryFit(no parameters, fitted per image at ≥ {self.image_size} px)"
