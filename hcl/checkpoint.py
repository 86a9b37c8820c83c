"""Checkpoints: written atomically (temporary file, fsync, rename), loaded with clear errors.

A checkpoint is a dict with ``config`` (the whole :class:`hcl.config.RunConfig` as a dict, so the
model is rebuilt from the checkpoint alone), ``model`` (state dict), ``step``, ``format`` and, for
training checkpoints, ``criterion``, ``optimizer``, ``scheduler`` and ``rng``. The demo checkpoint
shipped in ``hcl/assets/`` holds only what inference needs, in float16, and the ``command`` that
made it. An inference checkpoint may hold several networks trained alike (``members``: their weights, the
first also stored as ``model``; ``seeds``): they are loaded as one :class:`hcl.ensemble.HarmonizationEnsemble`.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from hcl.config import RUNTIME_SETTINGS, RunConfig
from hcl.files import write_atomically
from hcl.errors import UserInputError

DEMO_CHECKPOINT = Path(__file__).parent / "assets" / "demo_tiny.pt"
FORMAT = 2


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Serialize ``state`` to memory, then replace ``path`` in one rename: a run killed during the
    write leaves the previous checkpoint intact."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, buffer.getvalue())


def load_checkpoint(path: str | Path | None, map_location="cpu") -> dict:
    """Load a checkpoint; ``None`` means the shipped demo checkpoint."""
    path = Path(path) if path is not None else DEMO_CHECKPOINT
    if not path.is_file():
        hint = "train one with: hcl train --config tiny --data ROOT --out OUT" if path != DEMO_CHECKPOINT else \
            "the demo checkpoint is missing from this install; reinstall hcl or pass --checkpoint"
        raise UserInputError(f"{path}: checkpoint not found; {hint}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:  # noqa: BLE001 - any failure to unpickle means a bad file
        raise UserInputError(f"{path}: not a readable hcl checkpoint ({error.__class__.__name__}); "
                             "point --checkpoint at OUT/checkpoints/last.pt of a training run") from None
    if not isinstance(state, dict) or "model" not in state:
        raise UserInputError(f"{path}: not an hcl checkpoint (no model weights); "
                             "point --checkpoint at OUT/checkpoints/last.pt of a training run")
    if "config" not in state:
        raise UserInputError(f"{path}: written by an older hcl (no run configuration inside); retrain it with "
                             "hcl train, or use the hcl version that wrote it")
    return state


def config_of(state: dict) -> RunConfig:
    """The run configuration stored in a checkpoint."""
    return RunConfig.from_dict(state["config"])


def inference_weights(state: dict) -> dict:
    """The weights inference uses: the run's weight average when it kept one (``--average-last``), else
    the last weights (``model``, which a resumed run continues from)."""
    return state.get("model_average") or state["model"]


def model_from_checkpoint(path: str | Path | None = None, device="cpu"):
    """``(network in eval mode on device, checkpoint dict)``; ``None`` is the shipped demo; ``device``
    'cpu', 'cuda' or 'auto'. A checkpoint of several networks (``members``) gives a
    :class:`hcl.ensemble.HarmonizationEnsemble` of them."""
    from hcl.ensemble import HarmonizationEnsemble
    from hcl.model import HarmonizationNet
    from hcl.runtime import resolve_device

    device = resolve_device(str(device))
    state = path if isinstance(path, dict) else load_checkpoint(path)
    config = config_of(state)
    nets = []
    for weights in state.get("members") or [inference_weights(state)]:
        net = HarmonizationNet(config.model, config.data.image_size)
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
        nets.append(net)
    net = nets[0] if len(nets) == 1 else HarmonizationEnsemble(nets)
    return net.to(device).eval(), state


def export_inference_checkpoint(state: dict | list[dict], path: str | Path, extra: dict | None = None) -> None:
    """A small checkpoint for inference only: float16 weights, the configuration, step and ``extra``.

    ``state`` may be a list of training checkpoints of one recipe that differ only in their seed (and in
    :data:`hcl.config.RUNTIME_SETTINGS`, such as the device or the run folder): the file
    then holds every network's weights (``members``, the first also as ``model``, stored once) and their
    ``seeds``, and loads as their output ensemble."""
    states = state if isinstance(state, list) else [state]
    configs = [config_of(s) for s in states]
    first = configs[0].flat()
    for other in configs[1:]:
        differ = sorted(k for k, v in other.flat().items()
                        if first.get(k) != v and k != "seed" and k not in RUNTIME_SETTINGS)
        if differ:
            raise UserInputError(f"ensemble members must share a recipe and differ only in their seed; "
                                 f"these settings differ: {differ}")
    members = [{k: (v.half() if v.is_floating_point() else v) for k, v in inference_weights(s).items()} for s in states]
    slim = {"model": members[0], "config": states[0]["config"], "step": states[0].get("step"), **(extra or {})}
    if len(members) > 1:
        slim.update(members=members, seeds=[c.seed for c in configs])
    save_checkpoint(slim, path)
