"""Several networks trained alike, their harmonized images averaged (an output ensemble; ours, not the paper's).

On a handful of photos the `demo` recipe's score on held-out photos moves with the training seed more than with
any switch we measured. Averaging the outputs of networks trained with different seeds is the classic remedy: on
two folds of validation photos and three kinds of mask, the mean of seeds 0-2's harmonized images scored below the
seeds' mean fMSE in all six cells and near the best seed (``tools/seed_ensemble.py``,
``results/weight-average/seed_ensemble.json``). The shipped demo checkpoint holds three such networks.

With the transform head every member applies one affine colour map to the composite, so, where no channel is
clipped, the ensemble's output is the affine map whose coefficients are the members' mean: still one colour map
per image. The background stays the composite's, bit for bit.
"""

from __future__ import annotations

import torch
from torch import nn

from hcl.model import HarmonizationNet


class HarmonizationEnsemble(nn.Module):
    """``members`` (networks of one architecture and training size) as one network: :meth:`forward` and
    :meth:`harmonize` return the mean of the members' images inside the mask and the composite outside.
    ``config`` and ``image_size`` are the members' own; for the features of one network, use ``members[i]``."""

    def __init__(self, members: list[HarmonizationNet]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one network")
        first = members[0]
        for other in members[1:]:
            if other.config != first.config or other.image_size != first.image_size:
                raise ValueError("ensemble members differ in architecture or training size: "
                                 f"{first.config}, {first.image_size} px against {other.config}, {other.image_size} px")
        self.members = nn.ModuleList(members)
        self.config = first.config
        self.image_size = first.image_size

    def __len__(self) -> int:
        return len(self.members)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)  # parameters, buffers and submodules, as nn.Module keeps them
        except AttributeError:
            if name.startswith("_") or "members" not in self._modules:
                raise
            raise AttributeError(f"an ensemble of {len(self._modules['members'])} networks has no {name!r} of its own "
                                 f"(it averages their images); one network's is .members[i].{name}") from None

    def forward(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """B×3×H×W composite in [0, 1], B×1×H×W mask → the members' mean image, composed as each member does."""
        pred = torch.stack([member.features(composite, mask)["pred"] for member in self.members]).mean(0)
        return self.members[0].compose(composite, mask, pred)

    @torch.no_grad()
    def harmonize(self, composite: torch.Tensor, mask: torch.Tensor, size: int | None = None) -> torch.Tensor:
        """:meth:`hcl.model.HarmonizationNet.harmonize` of every member, averaged inside the mask (binarized at
        0.5); outside it the composite, bit for bit, in its own dtype and on its own device."""
        total = None
        for member in self.members:  # summed as they come: one full-size image in memory besides the sum
            image = member.harmonize(composite, mask, size).float()
            total = image if total is None else total.add_(image)
        mean = total.div_(len(self.members)).to(composite.dtype)
        return torch.where(mask.to(composite.device) >= 0.5, mean, composite)
