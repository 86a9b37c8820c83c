"""Where a run executes: the device, and the process group under ``torchrun`` (PyTorch DDP).

- ``resolve_device('auto' | 'cpu' | 'cuda[:i]')`` checks what is asked for is there.
- ``start_runtime`` joins a ``torchrun`` group when WORLD_SIZE > 1 (NCCL on CUDA, gloo on CPU);
  ``--batch-size`` is per process, so the global batch is B × processes.
- ``autocast`` (bf16, CUDA only) and ``to_channels_last`` (CUDA only) are the GPU speed switches.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from hcl.errors import UserInputError


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1
    owns_group: bool = False  # this runtime started the process group (and so ends it)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def stop(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def resolve_device(name: str) -> torch.device:
    """``'auto'`` → CUDA when visible, else CPU; ``'cuda'`` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise UserInputError(f"--device {name!r}: use cpu, cuda or auto")
    return torch.device(name)


def start_runtime(device_name: str) -> Runtime:
    """Single process, or one process of a ``torchrun`` group (WORLD_SIZE > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world_size <= 1:
        return Runtime(device, 0, 1)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    owns_group = not dist.is_initialized()
    if owns_group:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Runtime(device, rank, world_size, owns_group)


def autocast(runtime: Runtime, enabled: bool):
    """bf16 autocast on CUDA when ``enabled``; a no-op elsewhere."""
    if runtime.cuda and enabled:
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_channels_last(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(t.contiguous(memory_format=torch.channels_last) for t in tensors)
