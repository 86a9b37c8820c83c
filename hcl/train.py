"""Training (sections III-C and IV-A): AdamW, lr 1e-3, batch 8, random crops and flips, Eq. (13).

Read :func:`train_step` first: one optimizer step of the paper's objective. :func:`build_training`
makes everything a step needs from a configuration (the benchmarks and the GPU check use it too).
:func:`train` is the bookkeeping around them, in three parts that read top to bottom:
:func:`prepare_run` (folder and data), :meth:`Training.resume` (the state of a checkpoint) and
:func:`run_steps` (the loop: log, validate, save).

- CPU or CUDA (bf16 autocast and channels_last on CUDA); several GPUs or nodes through ``torchrun``
  (:mod:`hcl.runtime`), ``--batch-size`` per process.
- Exactly resumable: the data order and crops are pure functions of (seed, epoch, index), the
  contrastive sampler has its own generator, and every RNG state is in the checkpoint.
- ``OUT/`` is a :class:`hcl.rundir.RunDirectory`: checkpoints written atomically, ``log.csv`` with
  every term, each term's gradient norm at the output, and validation; a NaN/inf loss stops the run
  with a clear message and keeps the last good checkpoint.
"""

from __future__ import annotations

import math
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from hcl.checkpoint import load_checkpoint, save_checkpoint
from hcl.config import OptimConfig, RunConfig, preset  # noqa: F401 - preset is part of this module's interface
from hcl.data import IHarmony4
from hcl.errors import TrainingDiverged, UserInputError
from hcl.evaluate import evaluate, summarize
from hcl.losses import TERMS, HarmonizationLoss
from hcl.model import HarmonizationNet, build
from hcl.rundir import RunDirectory
from hcl.runtime import Runtime, autocast, resolve_device, start_runtime, to_channels_last


class Objective(nn.Module):
    """The network and the loss (whose MLP also trains) in one module, so DDP syncs both.

    ``forward(composite, mask, real, generator)`` → ``(H, terms of Eq. 13)``."""

    def __init__(self, net: nn.Module, criterion: HarmonizationLoss):
        super().__init__()
        self.net, self.criterion = net, criterion

    def forward(self, composite, mask, real, generator):
        harmonized = self.net(composite, mask)  # H = G(I', M')
        return harmonized, self.criterion(harmonized.float(), real, mask, generator, composite)


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def output_gradient_norms(terms: dict, harmonized: torch.Tensor, weights: dict) -> dict:
    """‖∂(λ·term)/∂H‖ for each weighted term of Eq. (13), and its share of their sum."""
    norms = {}
    for name in TERMS:
        if weights[name] and terms[name].requires_grad:
            grad, = torch.autograd.grad(weights[name] * terms[name], harmonized, retain_graph=True, allow_unused=True)
            norms[name] = float(grad.norm()) if grad is not None else 0.0
        else:
            norms[name] = 0.0
    total = sum(norms.values()) or 1.0
    return {**{f"grad_{n}": v for n, v in norms.items()}, **{f"share_{n}": v / total for n, v in norms.items()}}


def train_step(objective: nn.Module, optimizer: torch.optim.Optimizer, batch: tuple, generator: torch.Generator,
               runtime: Runtime, amp: bool = RunConfig.amp, grad_clip: float = OptimConfig.grad_clip,
               grad_norms: bool = False) -> dict:
    """One optimizer step of L_all = λ1·L1 + λ2·L_pixel + λ3·L_HCL (Eq. 13).

    batch: ``(composite I', mask M', real Ĥ)`` on the device. Returns the terms, L_HCL's top-1
    accuracy and its chance level (``hcl_accuracy``, ``hcl_chance``, when L_HCL is on) and, with
    ``grad_norms``, each term's gradient norm at H. Raises :class:`TrainingDiverged` on NaN/inf."""
    composite, mask, real = batch
    with autocast(runtime, amp):
        harmonized, terms = objective(composite, mask, real, generator)  # H and L_all (13)
    total = terms["total"]
    if not torch.isfinite(total.detach()).item():  # the NaN guard: stop before the weights are spoiled
        raise TrainingDiverged(f"loss became {float(total.detach())}")
    criterion = unwrap(objective).criterion
    norms = output_gradient_norms(terms, harmonized, criterion.weights) if grad_norms else {}
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(objective.parameters(), grad_clip)
    optimizer.step()
    criterion.after_step()  # e.g. the EMA key MLP of the contrastive loss
    values = {name: float(terms[name].detach()) for name in ("total", *TERMS)}
    accuracy = terms.get("diagnostics", {}).get("accuracy")
    if accuracy is not None:  # L_HCL's top-1 accuracy beside the loss, and the accuracy of a random ranking
        values["hcl_accuracy"] = float(accuracy.nanmean())  # NaN when no image had both regions
        values["hcl_chance"] = float(terms["diagnostics"]["chance"])
    return {**values, **norms}


def learning_rate_factor(step: int, total_steps: int, schedule: str, warmup: int) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based): linear warm-up, then constant or cosine."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "cosine":
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return 1.0


# ---------------------------------------------------------------------------------------------
# the data order


def epoch_indices(n: int, seed: int, epoch: int, rank: int, world_size: int) -> list[int]:
    """This process's share of epoch ``epoch``'s shuffled order (identical on every process)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    usable = n - n % world_size
    return order[:usable][rank::world_size].tolist()


def batches_per_epoch(n: int, batch_size: int, world_size: int) -> int:
    return (n // world_size) // batch_size


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


def parameter_fingerprint(module: nn.Module) -> torch.Tensor:
    """A vector that changes when any parameter changes (for checking DDP processes agree)."""
    return torch.stack([p.detach().double().sum() for p in module.parameters()] +
                       [p.detach().double().abs().sum() for p in module.parameters()])


def validation_scores(net: HarmonizationNet, config: RunConfig, dataset: IHarmony4) -> dict:
    """Mean MSE, PSNR, fMSE of the model (and the composite's MSE, fMSE) on the first
    ``val_images`` images: :func:`hcl.evaluate.evaluate` with a limit, through ``net.harmonize``."""
    was_training = net.training
    net.eval()
    records = evaluate(dataset, net, progress=False, limit=config.val_images)
    net.train(was_training)
    scores = summarize(records)
    model, composite = scores["model"]["All"], scores["composite"]["All"]
    return {"val_mse": model["mse"], "val_psnr": model["psnr"], "val_fmse": model["fmse"],
            "val_composite_mse": composite["mse"], "val_composite_fmse": composite["fmse"]}


# ---------------------------------------------------------------------------------------------
# what a step needs


class WeightAverage:
    """A uniform mean of the network's weights over the last ``average_last`` of the steps (stochastic weight
    averaging with a decaying learning rate, Izmailov et al. 2018): the step's weights are folded in once
    the step is among the last ``round(steps · average_last)``. Checkpoints keep the mean beside the live
    weights (``model_average``), so a resumed run continues it exactly and inference uses it."""

    def __init__(self, optim: OptimConfig):
        span = round(optim.steps * optim.average_last)
        self.first = optim.steps - span + 1 if span > 0 else None  # the first step folded in
        self.weights: dict[str, torch.Tensor] | None = None
        self.count = 0

    def update(self, net: nn.Module, step: int) -> None:
        if self.first is None or step < self.first:
            return
        self.count += 1
        current = net.state_dict()
        if self.weights is None:
            self.weights = {k: v.detach().clone() for k, v in current.items()}
            return
        for name, value in current.items():
            if value.is_floating_point():
                self.weights[name] += (value.detach() - self.weights[name]) / self.count
            else:
                self.weights[name].copy_(value)

    def state(self) -> dict:
        return {} if self.weights is None else {"model_average": {k: v.clone() for k, v in self.weights.items()},
                                                "average_count": self.count}

    def load(self, state: dict) -> None:
        self.weights, self.count = state.get("model_average"), int(state.get("average_count", 0))

    @contextmanager
    def applied(self, net: nn.Module):
        """Inside the block ``net`` holds the mean (once there is one), as inference will."""
        if self.weights is None:
            yield
            return
        live = {k: v.detach().clone() for k, v in net.state_dict().items()}
        net.load_state_dict(self.weights)
        try:
            yield
        finally:
            net.load_state_dict(live)


@dataclass
class Training:
    """Everything :func:`train_step` needs, built from one configuration by :func:`build_training`.

    ``objective`` holds the network and the loss (whose MLP trains too); ``model`` is the module a step
    runs: the objective, or its DDP wrapper under ``torchrun``."""

    config: RunConfig
    runtime: Runtime
    net: HarmonizationNet
    criterion: HarmonizationLoss
    objective: Objective
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    generator: torch.Generator
    average: WeightAverage = field(default=None)

    def __post_init__(self):
        if self.average is None:
            self.average = WeightAverage(self.config.optim)

    def step(self, batch: tuple, grad_norms: bool = False) -> dict:
        """One optimizer step on ``(composite, mask, real)``, then the learning-rate schedule's."""
        batch = tuple(t.to(self.runtime.device, non_blocking=True) for t in batch)
        if self.runtime.cuda and self.config.channels_last:
            batch = to_channels_last(*batch)
        values = train_step(self.model, self.optimizer, batch, self.generator, self.runtime, self.config.amp,
                            self.config.optim.grad_clip, grad_norms)
        self.scheduler.step()
        return values

    def state(self, step: int) -> dict:
        """A checkpoint: weights, optimizer, schedule, every RNG and the configuration."""
        return {"model": self.net.state_dict(), "criterion": self.criterion.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(), "step": step,
                "config": self.config.to_dict(), "rng": capture_rng(self.generator), **self.average.state()}

    def resume(self, path) -> int:
        """Load the checkpoint at ``path`` into this training; returns the step it was taken at. A
        resumed run may continue with another ``--lr``."""
        state = load_checkpoint(path, map_location=self.runtime.device)
        self.net.load_state_dict(state["model"])
        self.criterion.load_state_dict(state["criterion"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        lr = self.config.optim.lr
        for group in self.optimizer.param_groups:
            group["initial_lr"] = lr
        self.scheduler.base_lrs = [lr for _ in self.optimizer.param_groups]
        restore_rng(state["rng"], self.generator)
        self.average.load(state)
        return int(state["step"])


def build_training(config: RunConfig, runtime: Runtime | None = None) -> Training:
    """The network, L_all (Eq. 13), AdamW and its schedule, and the contrastive sampler's generator,
    from ``config`` on ``runtime``'s device (default: ``config.device``, one process). Seeds torch,
    numpy and Python with ``config.seed`` first, so the same configuration builds the same weights."""
    runtime = runtime or Runtime(resolve_device(config.device))
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    net = build(config.model, image_size=config.data.image_size)
    criterion = HarmonizationLoss.from_config(config.loss)
    objective = Objective(net, criterion).to(runtime.device)
    if runtime.cuda and config.channels_last:
        objective = objective.to(memory_format=torch.channels_last)
    optim = config.optim
    optimizer = torch.optim.AdamW([p for p in objective.parameters() if p.requires_grad], lr=optim.lr,
                                  weight_decay=optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(step, optim.steps, optim.schedule, optim.warmup))
    generator = torch.Generator(device=runtime.device).manual_seed(config.seed * 1000 + runtime.rank)
    model = objective
    if runtime.distributed:
        model = nn.parallel.DistributedDataParallel(objective, device_ids=[runtime.device.index] if runtime.cuda else None)
    model.train()
    return Training(config, runtime, net, criterion, objective, model, optimizer, scheduler, generator)


# ---------------------------------------------------------------------------------------------
# train(): setup, state, loop


def prepare_run(config: RunConfig, resume: bool, runtime: Runtime) -> tuple[RunDirectory, IHarmony4, IHarmony4]:
    """Part 1: the run folder (checked, ``config.json`` written) and the training and validation sets."""
    data = config.data
    train_set = IHarmony4(data.data, "train", image_size=data.image_size, augment=True, seed=config.seed,
                          colour_jitter=data.colour_jitter, foreground_jitter=data.foreground_jitter,
                          crop_scale=data.crop_scale)
    val_set = IHarmony4(data.val_data or data.data, "test", image_size=256)
    if batches_per_epoch(len(train_set), config.optim.batch_size, runtime.world_size) == 0:
        raise UserInputError(f"{data.data}: {len(train_set)} training triples cannot fill one batch of "
                             f"{config.optim.batch_size} per process; lower --batch-size")
    run = RunDirectory(config.out)  # written only once the data is known to be there
    if runtime.is_main:
        run.prepare(config, resume)
    elif resume and not run.checkpoint.is_file():
        raise UserInputError(f"{run.checkpoint}: nothing to resume; drop --resume to start a new run")
    return run, train_set, val_set


def run_steps(training: Training, run: RunDirectory, train_set: IHarmony4, val_set: IHarmony4, step: int,
              progress: bool = True) -> tuple[int, dict]:
    """Part 3: steps from ``step`` to ``optim.steps`` in the resumable data order; every ``log_every``
    steps a row of ``log.csv``, every ``val_every`` validation, every ``save_every`` a checkpoint.
    Returns the step reached and the last validation scores."""
    config, runtime, optim = training.config, training.runtime, training.config.optim
    per_epoch = batches_per_epoch(len(train_set), optim.batch_size, runtime.world_size)
    log = run.open_log(step) if runtime.is_main else None
    bar = tqdm(total=optim.steps, initial=step, desc=f"train {config.preset}", unit="step",
               disable=not (progress and runtime.is_main))
    started = time.perf_counter()
    last_val = {}
    while step < optim.steps:
        epoch, offset = divmod(step, per_epoch)
        train_set.set_epoch(epoch)
        indices = epoch_indices(len(train_set), config.seed, epoch, runtime.rank, runtime.world_size)
        indices = indices[offset * optim.batch_size: per_epoch * optim.batch_size]
        loader = DataLoader(train_set, batch_size=optim.batch_size, sampler=indices, drop_last=True,
                            num_workers=config.data.workers, pin_memory=runtime.cuda, persistent_workers=False)
        for batch in loader:
            lr = training.optimizer.param_groups[0]["lr"]
            measure = bool(config.grad_norm_every) and (step % config.grad_norm_every == 0)
            try:
                values = training.step(tuple(batch[k] for k in ("composite", "mask", "real")), measure)
            except TrainingDiverged as error:
                bar.close()
                kept = f"the last good checkpoint {run.checkpoint} (step {step - step % config.save_every}) is kept" \
                    if run.checkpoint.exists() else "no checkpoint was written yet"
                raise TrainingDiverged(f"{error} at step {step + 1}; {kept}. Lower --lr or check the data with: "
                                       "hcl data check ROOT") from None
            step += 1
            training.average.update(training.net, step)
            bar.update(1)
            validate_now = step % config.val_every == 0 or step == optim.steps
            if step % config.log_every == 0 or validate_now or measure:
                row = {"step": step, "epoch": epoch, "lr": lr, "seconds": round(time.perf_counter() - started, 3)}
                row.update({k: round(v, 6) for k, v in values.items()})
                if validate_now and runtime.is_main:
                    with training.average.applied(training.net):  # what inference will use
                        last_val = validation_scores(training.net, config, val_set)
                    row.update({k: round(v, 4) for k, v in last_val.items()})
                if runtime.is_main:
                    log.write(row)
                bar.set_postfix({k: f"{values[k]:.4f}" for k in ("total", *TERMS, "hcl_accuracy") if k in values})
            if (step % config.save_every == 0 or step == optim.steps) and runtime.is_main:
                save_checkpoint(training.state(step), run.checkpoint)
            if step >= optim.steps:
                break
    bar.close()
    if log is not None:
        log.close()
    return step, last_val


def train(config: RunConfig, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) a training run; returns a summary (also written to ``OUT/summary.json``)."""
    runtime = start_runtime(config.device)
    run, train_set, val_set = prepare_run(config, resume, runtime)  # 1. setup
    training = build_training(config, runtime)
    step = training.resume(run.checkpoint) if resume else 0  # 2. state
    started = time.perf_counter()
    step, last_val = run_steps(training, run, train_set, val_set, step, progress)  # 3. the loop
    summary = {"steps": step, "seconds": round(time.perf_counter() - started, 2),
               "world_size": runtime.world_size, "device": str(runtime.device), "validation": last_val,
               "checkpoint": str(run.checkpoint)}
    if runtime.distributed:
        fingerprint = parameter_fingerprint(training.objective).to(runtime.device)
        gathered = [torch.zeros_like(fingerprint) for _ in range(runtime.world_size)]
        dist.all_gather(gathered, fingerprint)
        summary["ranks_in_sync"] = all(torch.equal(gathered[0], g) for g in gathered)
    if runtime.is_main:
        run.write_summary(summary)
    if runtime.distributed:
        dist.barrier()  # every rank done before any tears the group down (a rank leaving early can abort gloo)
    runtime.stop()
    return summary
