"""Real composites (hcl.data.paste): the background untouched outside the pasted object, the object's
own pixels inside, clipping at the borders, and a clear error for an object the photo does not have."""

from __future__ import annotations

import numpy as np
import pytest

from hcl.data.paste import paste_object, square
from hcl.data.photos import Outline, Photo


def _photos():
    source = np.zeros((40, 60, 3), dtype=np.uint8)
    source[10:30, 20:30] = (200, 10, 10)  # a red 20×10 object on black
    object_mask = np.zeros((40, 60), dtype=bool)
    object_mask[10:30, 20:30] = True
    background = np.full((50, 50, 3), 90, dtype=np.uint8)
    return (Photo("src", source, "s", outlines=[Outline(1, "box", object_mask)]), Photo("bg", background, "b"))


def test_the_object_is_pasted_at_its_place_and_the_background_is_untouched_elsewhere():
    source, background = _photos()
    made = paste_object(source, "box", background, size=32, height_share=0.5, centre_x=0.5, bottom_y=0.75)
    rows, cols = np.nonzero(made.mask)
    assert (rows.min(), rows.max() + 1) == (8, 24)  # 16 px tall (half of 32), bottom at 24
    assert (cols.min(), cols.max() + 1) == (12, 20)  # 8 px wide, centred
    assert (made.composite[~made.mask] == square(background.pixels, 32)[~made.mask]).all()
    assert (made.composite[made.mask] == (200, 10, 10)).all()


def test_an_object_over_the_border_is_clipped_and_a_missing_category_is_named():
    source, background = _photos()
    made = paste_object(source, "box", background, size=32, height_share=0.5, centre_x=0.0, bottom_y=1.2)
    assert made.mask.any() and made.composite.shape == (32, 32, 3)
    assert np.nonzero(made.mask)[1].min() == 0 and np.nonzero(made.mask)[0].max() == 31
    with pytest.raises(ValueError, match="no outlined 'cat'.*'box'"):
        paste_object(source, "cat", background)
