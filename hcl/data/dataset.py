"""``IHarmony4``: the (composite, mask, real) triples of iHarmony4 as a torch Dataset."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from hcl.config import DataConfig
from hcl.data.imageio import read_mask, read_rgb
from hcl.tensors import mask_to_tensor, resize_image, resize_mask, to_tensor
from hcl.data.layout import list_triples
from hcl.errors import UserInputError


CONTRAST_PIVOT = 0.5  # one fixed grey for every image: a per-image mean would differ between composite and real


def colour_change(image: torch.Tensor, brightness: float, contrast: float, saturation: float,
                  red: float, green: float, blue: float) -> torch.Tensor:
    """One global colour change of a 3×H×W image in [0, 1] (colour jitter: the same call on composite and
    real; foreground jitter: on the composite, kept inside the mask only).

    Every step is a function of each pixel alone (contrast pivots around the fixed grey
    ``CONTRAST_PIVOT``, not the image's own mean), so pixels equal in composite and real, the whole
    background, stay equal after it."""
    image = image * brightness * torch.tensor([red, green, blue])[:, None, None]
    grey = image.mean(0, keepdim=True)
    image = grey + saturation * (image - grey)
    image = CONTRAST_PIVOT + contrast * (image - CONTRAST_PIVOT)
    return image.clamp(0, 1)


class IHarmony4(Dataset):
    """iHarmony4 (or a mini-iHarmony4 in the same layout).

    Items are dicts: ``composite`` and ``real`` (float32 3×H×W in [0, 1]), ``mask`` (float32 1×H×W
    in {0, 1}), ``name`` (composite file name) and ``subset``.

    image_size: an int (square) or (H, W), or None to keep each image's own size. Images are
        resized bilinearly with antialias, masks nearest, then binarized at 0.5.
    augment: one random resized crop and horizontal flip, the same for composite, mask and real.
    colour_jitter: with ``augment``, also apply one random global colour change (brightness,
        contrast, saturation, channel gains, each within ±colour_jitter) to composite *and* real
        alike. The pair stays a valid example, but absolute colours of the training photos can no
        longer be memorized: on a small dataset this makes the net rely on foreground/background
        cues. Not in the paper (which crops and flips only); off by default.
    foreground_jitter: with ``augment``, then one more such change, within ±foreground_jitter, drawn
        after the crop and the colour jitter and applied to the composite's foreground only (the real
        image and the background untouched): a new disharmony each time an item is drawn, so a set of
        a few photos stops being a few fixed pairs. Not in the paper; off by default (0 draws nothing,
        so items are bit for bit those without it). Both jitters must lie in [0, 1).
    crop_scale: with ``augment``, the smallest share of the image area a random crop keeps (at most 1).
    seed: with ``augment``, None draws from torch's global RNG (worker-seeded by the DataLoader);
        an int makes each item's crop a pure function of (seed, epoch, index), so a resumed
        training run sees exactly the crops of an uninterrupted one (see ``set_epoch``).
    """

    crop_ratio = (3 / 4, 4 / 3)

    def __init__(self, root, split: str, subsets=None, image_size=DataConfig.image_size, augment: bool = False,
                 seed: int | None = None, colour_jitter: float = DataConfig.colour_jitter,
                 crop_scale: float = DataConfig.crop_scale, foreground_jitter: float = DataConfig.foreground_jitter):
        self.root = Path(root)
        self.split = split
        self.triples = list_triples(self.root, split, subsets)
        if image_size is None or isinstance(image_size, (tuple, list)):
            self.size = None if image_size is None else (int(image_size[0]), int(image_size[1]))
        else:
            self.size = (int(image_size), int(image_size))
        if augment and self.size is None:
            raise UserInputError("augment=True needs an image_size (crops are resized to it)")
        self.augment = augment
        self.colour_jitter = float(colour_jitter)
        self.foreground_jitter = float(foreground_jitter)
        for name, value in (("--colour-jitter", self.colour_jitter), ("--foreground-jitter", self.foreground_jitter)):
            if not 0 <= value < 1:
                raise UserInputError(f"{name} {value}: must be in [0, 1) (a factor 1 ± J on each colour setting)")
        if not 0 < crop_scale <= 1:
            raise UserInputError(f"--crop-scale {crop_scale}: must be in (0, 1]")
        self.crop_scale = (float(crop_scale), 1.0)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the crops of this epoch (only matters with ``augment`` and a ``seed``)."""
        self.epoch = int(epoch)

    @property
    def subsets(self) -> list[str]:
        return sorted({t.subset for t in self.triples})

    def __len__(self) -> int:
        return len(self.triples)

    def _load(self, index: int):
        triple = self.triples[index]
        composite = read_rgb(triple.composite)
        real = read_rgb(triple.real)
        if real.shape != composite.shape:
            raise UserInputError(
                f"{triple.real}: real image is {real.shape[1]}×{real.shape[0]} but its composite is "
                f"{composite.shape[1]}×{composite.shape[0]}; resize both the same way (hcl data resize)"
            )
        mask = read_mask(triple.mask, expected_hw=composite.shape[:2])
        return triple, to_tensor(composite), mask_to_tensor(mask), to_tensor(real)

    def _uniform(self, index: int):
        """A source of U(0, 1) draws for item ``index``: seeded by (seed, epoch, index), or global."""
        if self.seed is None:
            return lambda: float(torch.rand(()))
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return lambda: float(rng.random())

    def _crop_box(self, index: int, height: int, width: int, uniform=None) -> tuple[int, int, int, int, bool]:
        """(top, left, h, w, flip) of a random resized crop, drawn like torchvision's."""
        uniform = uniform or self._uniform(index)
        area = height * width
        for _ in range(10):
            target = area * (self.crop_scale[0] + (self.crop_scale[1] - self.crop_scale[0]) * uniform())
            log_lo, log_hi = math.log(self.crop_ratio[0]), math.log(self.crop_ratio[1])
            ratio = math.exp(log_lo + (log_hi - log_lo) * uniform())
            w = int(round(math.sqrt(target * ratio)))
            h = int(round(math.sqrt(target / ratio)))
            if 0 < w <= width and 0 < h <= height:
                top = int(uniform() * (height - h + 1))
                left = int(uniform() * (width - w + 1))
                return top, left, h, w, uniform() < 0.5
        return 0, 0, height, width, uniform() < 0.5

    def __getitem__(self, index: int) -> dict:
        triple, composite, mask, real = self._load(index)
        if self.augment:
            uniform = self._uniform(index)
            top, left, h, w, flip = self._crop_box(index, composite.shape[1], composite.shape[2], uniform)
            window = (slice(None), slice(top, top + h), slice(left, left + w))
            composite, mask, real = composite[window], mask[window], real[window]
            if flip:
                composite, mask, real = composite.flip(-1), mask.flip(-1), real.flip(-1)
            if self.colour_jitter > 0:
                jitter = [1 + self.colour_jitter * (2 * uniform() - 1) for _ in range(6)]
                composite, real = (colour_change(t, *jitter) for t in (composite, real))
            if self.foreground_jitter > 0:
                change = [1 + self.foreground_jitter * (2 * uniform() - 1) for _ in range(6)]
                composite = torch.where(mask.bool(), colour_change(composite, *change), composite)
        if self.size is not None:
            composite = resize_image(composite, self.size)
            real = resize_image(real, self.size)
            mask = resize_mask(mask, self.size)
        return {
            "composite": composite.contiguous(),
            "mask": mask.contiguous(),
            "real": real.contiguous(),
            "name": triple.name,
            "subset": triple.subset,
        }
