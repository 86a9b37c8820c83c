"""The GPU check runs on the CPU too (a dry run), so its path works before any GPU is at hand."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO


@pytest.mark.slow
def test_gpu_check_dry_run_writes_every_number_it_promises(mini_root, tmp_path):
    out = tmp_path / "gpu_check.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--dry-run", "--data", str(mini_root),
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["dry_run"] is True and result["steps"] == 2
    for key in ("step_seconds_median", "flops_per_step", "achieved_flops_per_second", "matmul_flops_per_second",
                "l1_start", "l1_end", "pixel_start", "pixel_end"):
        assert result[key] is not None and result[key] > 0, key


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU this is the real check, not an error")
def test_gpu_check_without_a_gpu_says_so_in_one_line(mini_root, tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--data", str(mini_root),
                           "--out", str(tmp_path / "x.json")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.strip().startswith("gpu-check: error:") and "cuda" in done.stderr
