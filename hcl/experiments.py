"""Kept for imports written before the split: the run cache is :mod:`hcl.runcache`, the ablation
:mod:`hcl.ablation`, the L_HCL-alone study :mod:`hcl.contrastive_alone`."""

from hcl.ablation import *  # noqa: F401,F403
from hcl.ablation import PAPER_TABLE_VI, ablation_k, ablation_preview, spread_verdict  # noqa: F401
from hcl.contrastive_alone import foreground_texture, hcl_alone  # noqa: F401
from hcl.runcache import code_version, config_hash, identity, latest_run, run_cached  # noqa: F401
