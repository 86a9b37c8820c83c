"""Training (section IV-A; DESIGN §5): AdamW, lr 1e-3, batch 8, 256×256 random crops and flips,
K = 256, loss weights (0.4, 0.5, 0.1).

- CPU or CUDA (bf16 autocast and channels_last on CUDA).
- Several GPUs or nodes through ``torchrun`` (PyTorch DDP; gloo on CPU): ``--batch-size`` is per
  process, so the global batch is B × processes.
- Exactly resumable: the data order and crops are pure functions of (seed, epoch, index), the
  contrastive sampler has its own generator, and every RNG state is in the checkpoint.
- Checkpoints go to ``OUT/checkpoints/last.pt``, atomically; ``OUT/log.csv`` logs every term
  (and TensorBoard too when it is installed); a NaN/inf loss stops the run with a clear message
  and leaves the last good checkpoint in place.
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from hcl.checkpoint import load_checkpoint, save_checkpoint
from hcl.data import IHarmony4
from hcl.errors import UserInputError
from hcl.losses import HarmonizationLoss
from hcl.metrics import finite_mean, fmse, mse, psnr
from hcl.model import build

LOG_COLUMNS = ("step", "epoch", "total", "l1", "pixel", "hcl", "lr", "seconds", "val_mse", "val_psnr", "val_fmse")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class TrainConfig:
    """Every setting of a run; the defaults are the paper's (section IV-A)."""

    model: str = "tiny"
    data: str = "data/mini-iharmony4"
    out: str = "runs/tiny"
    steps: int = 1000
    batch_size: int = 8
    image_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.01  # AdamW's default
    loss_weights: tuple[float, float, float] = (0.4, 0.5, 0.1)
    k: int = 256
    tau: float = 0.07
    seed: int = 0
    device: str = "auto"
    workers: int = 2
    log_every: int = 10
    val_every: int = 200
    val_images: int = 64
    save_every: int = 100
    colour_jitter: float = 0.0  # not in the paper: see IHarmony4's colour_jitter
    amp: bool = True  # bf16 autocast, CUDA only
    channels_last: bool = True  # CUDA only
    model_overrides: dict = field(default_factory=dict)


PRESETS = {
    "tiny": TrainConfig(model="tiny", steps=1000),
    # ~60 epochs of iHarmony4's 65 742 training pairs at batch 8 (the length of the paper's ablations)
    "paper": TrainConfig(model="paper", steps=500_000, val_every=5000, save_every=1000, val_images=512, workers=8),
}


def preset(name: str, **changes) -> TrainConfig:
    if name not in PRESETS:
        raise UserInputError(f"unknown --config {name!r}; choose from {sorted(PRESETS)}")
    return replace(PRESETS[name], **changes)


# ---------------------------------------------------------------------------------------------
# distributed set-up


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    if name not in ("cpu",) and not name.startswith("cuda"):
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
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Runtime(device, rank, world_size)


# ---------------------------------------------------------------------------------------------
# the data order


def epoch_indices(n: int, seed: int, epoch: int, rank: int, world_size: int) -> list[int]:
    """This process's share of epoch ``epoch``'s shuffled order (identical on every process)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    usable = n - n % world_size
    return order[:usable][rank::world_size].tolist()


def batches_per_epoch(n: int, batch_size: int, world_size: int) -> int:
    return (n // world_size) // batch_size


class TrainStep(nn.Module):
    """The network and the loss (whose MLP also trains) in one module, so DDP syncs both."""

    def __init__(self, net: nn.Module, criterion: HarmonizationLoss):
        super().__init__()
        self.net, self.criterion = net, criterion

    def forward(self, composite, mask, real, generator):
        harmonized = self.net(composite, mask)
        return self.criterion(harmonized.float(), real, mask, generator)


def capture_rng(generator: torch.Generator) -> dict:
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        "contrastive": generator.get_state(),
    }


def restore_rng(state: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    generator.set_state(state["contrastive"])


@torch.no_grad()
def validate(net: nn.Module, dataset: IHarmony4, device, limit: int, batch_size: int = 8) -> dict:
    """Mean MSE, PSNR and fMSE of the model on the first ``limit`` images of ``dataset``."""
    was_training = net.training
    net.eval()
    values = {"mse": [], "psnr": [], "fmse": []}
    for start in range(0, min(limit, len(dataset)), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, limit, len(dataset)))]
        composite = torch.stack([it["composite"] for it in items]).to(device)
        mask = torch.stack([it["mask"] for it in items]).to(device)
        real = torch.stack([it["real"] for it in items]).to(device)
        pred = net(composite, mask).float()
        values["mse"] += mse(pred, real).tolist()
        values["psnr"] += psnr(pred, real).tolist()
        values["fmse"] += fmse(pred, real, mask).tolist()
    net.train(was_training)
    return {name: finite_mean(v) for name, v in values.items()}


def _open_log(path: Path, resume_step: int):
    """Append to ``log.csv``, dropping rows past the resumed step (they will be redone)."""
    rows = []
    if path.is_file() and resume_step > 0:
        with open(path, newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= resume_step]
    handle = open(path, "w", newline="")
    writer = csv.DictWriter(handle, fieldnames=LOG_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    handle.flush()
    return handle, writer


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # noqa: BLE001 - tensorboard is optional
        return None
    return SummaryWriter(str(out / "tensorboard"))


def parameter_fingerprint(module: nn.Module) -> torch.Tensor:
    """A vector that changes when any parameter changes (for checking DDP processes agree)."""
    return torch.stack([p.detach().double().sum() for p in module.parameters()] +
                       [p.detach().double().abs().sum() for p in module.parameters()])


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) a training run; returns a summary (also written to ``OUT/summary.json``)."""
    runtime = start_runtime(config.device)
    device = runtime.device
    out = Path(config.out)
    checkpoint_path = out / "checkpoints" / "last.pt"
    if runtime.is_main:
        out.mkdir(parents=True, exist_ok=True)
        if not resume and checkpoint_path.exists():
            raise UserInputError(f"{checkpoint_path}: a run already exists in {out}; pass --resume to continue it "
                                 "or choose another --out")
    if resume and not checkpoint_path.is_file():
        raise UserInputError(f"{checkpoint_path}: nothing to resume; drop --resume to start a new run")

    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    train_set = IHarmony4(config.data, "train", image_size=config.image_size, augment=True, seed=config.seed,
                          colour_jitter=config.colour_jitter)
    val_set = IHarmony4(config.data, "test", image_size=config.image_size)
    per_epoch = batches_per_epoch(len(train_set), config.batch_size, runtime.world_size)
    if per_epoch == 0:
        raise UserInputError(f"{config.data}: {len(train_set)} training triples cannot fill one batch of "
                             f"{config.batch_size} per process; lower --batch-size")

    net = build(config.model, **config.model_overrides)
    criterion = HarmonizationLoss(*config.loss_weights, k=config.k, tau=config.tau)
    step_module = TrainStep(net, criterion).to(device)
    cuda = device.type == "cuda"
    if cuda and config.channels_last:
        step_module = step_module.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(step_module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator(device=device).manual_seed(config.seed * 1000 + runtime.rank)

    step = 0
    if resume:
        state = load_checkpoint(checkpoint_path, map_location=device)
        net.load_state_dict(state["model"])
        criterion.load_state_dict(state["criterion"])
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:  # a resumed run may continue with another --lr
            group["lr"] = config.lr
        restore_rng(state["rng"], generator)
        step = int(state["step"])

    model = step_module
    if runtime.distributed:
        model = nn.parallel.DistributedDataParallel(step_module, device_ids=[device.index] if cuda else None)
    model.train()

    log_handle = writer = board = None
    if runtime.is_main:
        log_handle, writer = _open_log(out / "log.csv", step)
        board = _tensorboard(out)
        (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")

    def save(step_done: int) -> None:
        if runtime.is_main:
            save_checkpoint({
                "model": net.state_dict(), "criterion": criterion.state_dict(), "optimizer": optimizer.state_dict(),
                "step": step_done, "model_config": net.config.to_dict(), "train_config": asdict(config),
                "rng": capture_rng(generator),
            }, checkpoint_path)

    bar = tqdm(total=config.steps, initial=step, desc=f"train {config.model}", unit="step",
               disable=not (progress and runtime.is_main))
    started = time.perf_counter()
    last_val = {}
    while step < config.steps:
        epoch, offset = divmod(step, per_epoch)
        train_set.set_epoch(epoch)
        indices = epoch_indices(len(train_set), config.seed, epoch, runtime.rank, runtime.world_size)
        indices = indices[offset * config.batch_size: per_epoch * config.batch_size]
        loader = DataLoader(train_set, batch_size=config.batch_size, sampler=indices, drop_last=True,
                            num_workers=config.workers, pin_memory=cuda, persistent_workers=False)
        for batch in loader:
            composite = batch["composite"].to(device, non_blocking=True)
            mask = batch["mask"].to(device, non_blocking=True)
            real = batch["real"].to(device, non_blocking=True)
            if cuda and config.channels_last:
                composite, mask, real = (t.contiguous(memory_format=torch.channels_last) for t in (composite, mask, real))
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda and config.amp):
                terms = model(composite, mask, real, generator)
            total = terms["total"]
            if not torch.isfinite(total.detach()).item():
                bar.close()
                kept = f"the last good checkpoint {checkpoint_path} (step {step - step % config.save_every}) is kept" \
                    if checkpoint_path.exists() else "no checkpoint was written yet"
                raise TrainingDiverged(f"loss became {float(total.detach())} at step {step + 1}; {kept}. "
                                       "Lower --lr or check the data with: hcl data check ROOT")
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            step += 1
            bar.update(1)

            if step % config.log_every == 0 or step == config.steps or step % config.val_every == 0:
                row = {"step": step, "epoch": epoch, "lr": config.lr, "seconds": round(time.perf_counter() - started, 3)}
                row.update({name: round(float(terms[name].detach()), 6) for name in ("total", "l1", "pixel", "hcl")})
                if step % config.val_every == 0 or step == config.steps:
                    last_val = validate(net, val_set, device, config.val_images) if runtime.is_main else {}
                    row.update({f"val_{k}": round(v, 4) for k, v in last_val.items()})
                if runtime.is_main:
                    writer.writerow(row)
                    log_handle.flush()
                    if board is not None:
                        for key, value in row.items():
                            if key not in ("step", "epoch"):
                                board.add_scalar(key, value, step)
                bar.set_postfix({k: f"{row[k]:.4f}" for k in ("total", "l1", "pixel", "hcl")})
            if step % config.save_every == 0 or step == config.steps:
                save(step)
            if step >= config.steps:
                break
    bar.close()
    elapsed = time.perf_counter() - started

    summary = {"steps": step, "seconds": round(elapsed, 2), "world_size": runtime.world_size,
               "device": str(device), "validation": last_val, "checkpoint": str(checkpoint_path)}
    if runtime.distributed:
        fingerprint = parameter_fingerprint(step_module).to(device)
        gathered = [torch.zeros_like(fingerprint) for _ in range(runtime.world_size)]
        dist.all_gather(gathered, fingerprint)
        summary["ranks_in_sync"] = all(torch.equal(gathered[0], g) for g in gathered)
        dist.barrier()
    if runtime.is_main:
        log_handle.close()
        if board is not None:
            board.close()
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if runtime.distributed:
        dist.destroy_process_group()
    return summary
