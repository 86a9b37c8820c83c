"""Training runs cached by what they compute: ``run_cached(config, folder, name)``.

A run is identified by its configuration (less the settings that change only how it is carried out:
``NOT_IDENTITY``) *and* the code that trains it: :func:`code_version`, a hash of ``hcl.train`` and every
module it imports (their syntax trees: comments and docstrings do not count). ``run_cached`` trains into
``folder/<name>-<hash of both>/``, reuses a finished run with the same identity (printing ``REUSED``),
resumes an unfinished one, and never deletes anything: another configuration, or the same one after
a change to the code, gets another folder, and the earlier run is named with the reason it was not
reused.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from pathlib import Path

from hcl.config import RUNTIME_SETTINGS, RunConfig
from hcl.files import write_atomically
from hcl.rundir import RunDirectory

# settings that change how a run is carried out, not what it computes
NOT_IDENTITY = RUNTIME_SETTINGS
IDENTITY_FILE = "identity.json"
PACKAGE = Path(__file__).resolve().parent


def _without_docstrings(source: str) -> str:
    """The code of a module as its syntax tree, without comments and docstrings: editing the prose
    does not make finished runs stale, editing the code does."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree)


def training_modules() -> list[Path]:
    """The files of the code that trains a run: ``hcl.train`` and every module it imports, directly or
    not (:mod:`hcl.layout`'s graph). Plotting, the CLI and the experiment drivers are not among them."""
    from hcl.layout import import_graph, reachable

    names = {"hcl.train", *reachable(import_graph(), "hcl.train")}
    return sorted(PACKAGE.parent.joinpath(*name.split(".")).with_suffix(".py") for name in names)


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the training code (:func:`training_modules`: file names and syntax trees, comments and
    docstrings left out). Computed once per process; the syntax trees are Python's own, so another
    Python version may give another hash (and retrain)."""
    digest = hashlib.sha256()
    for path in training_modules():
        digest.update(str(path.relative_to(PACKAGE)).encode())
        digest.update(_without_docstrings(path.read_text()).encode())
    return digest.hexdigest()[:12]


def settings_identity(config: RunConfig) -> dict:
    """The configuration without the settings that do not change the result."""
    flat = config.flat()
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in sorted(flat.items()) if k not in NOT_IDENTITY}


def identity(config: RunConfig) -> dict:
    """What a run computes: its settings and the code version."""
    return {"code": code_version(), "settings": settings_identity(config)}


def config_hash(config: RunConfig) -> str:
    return hashlib.sha256(json.dumps(identity(config), sort_keys=True).encode()).hexdigest()[:10]


def stored_identity(run: RunDirectory) -> dict | None:
    path = run.path / IDENTITY_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        return None


def why_not_reused(stored: dict | None, wanted: dict) -> str:
    """One phrase: how a finished run's identity differs from the one asked for."""
    if stored is None:
        return "it does not record the code that trained it"
    reasons = []
    if stored.get("code") != wanted["code"]:
        reasons.append(f"the code changed since (package {stored.get('code')} → {wanted['code']})")
    old, new = stored.get("settings", {}), wanted["settings"]
    changed = [f"{k} {old.get(k)!r} → {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        reasons.append("settings differ: " + ", ".join(changed[:4]) + (" …" if len(changed) > 4 else ""))
    return "; ".join(reasons) or "it has the same identity"


def run_cached(config: RunConfig, folder: str | Path, name: str, progress: bool = False, say=print) -> RunDirectory:
    """Train ``config`` into ``folder/<name>-<hash>`` unless a finished run with the same identity is
    there (then print ``REUSED``); an unfinished one is resumed. Finished runs of the same name that
    are not reused are listed with the reason. Returns the run's folder."""
    from hcl.train import train

    wanted = identity(config)
    run = RunDirectory(Path(folder) / f"{name}-{config_hash(config)}")
    config = config.replace(out=str(run.path))
    if run.summary_file.is_file():  # the folder's name is the hash of this identity: it finished with it
        if stored_identity(run) != wanted:  # killed between finishing and recording it
            write_atomically(run.path / IDENTITY_FILE, (json.dumps(wanted, indent=2) + "\n").encode())
        say(f"REUSED {run.path} ({run.summary()['steps']} steps, {run.summary()['seconds']:.0f} s when it ran)")
        return run
    for other in sorted(Path(folder).glob(f"{name}-*")):
        other_run = RunDirectory(other)
        if other != run.path and other_run.summary_file.is_file():
            say(f"not reusing {other}: {why_not_reused(stored_identity(other_run), wanted)}")
    resume = run.checkpoint.is_file()
    say(f"{'resuming' if resume else 'training'} {run.path}")
    train(config, resume=resume, progress=progress)
    write_atomically(run.path / IDENTITY_FILE, (json.dumps(wanted, indent=2) + "\n").encode())
    return run


def latest_run(folder: str | Path, name: str) -> RunDirectory | None:
    """The most recently finished run named ``name-<hash>`` in ``folder`` (None if there is none)."""
    finished = [RunDirectory(p) for p in Path(folder).glob(f"{name}-*") if (p / "summary.json").is_file()]
    return max(finished, key=lambda r: r.summary_file.stat().st_mtime) if finished else None


