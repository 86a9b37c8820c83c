"""Data: iHarmony4 layout and loading, the offline mini-iHarmony4, tree checks and resizing."""

from hcl.data.dataset import IHarmony4
from hcl.data.layout import SPLITS, SUBSETS, Triple, list_triples, split_composite_name

__all__ = ["IHarmony4", "SPLITS", "SUBSETS", "Triple", "list_triples", "split_composite_name"]
