"""Writing files so that a reader never sees half of one (checkpoints, images, run records), and output
folders that never overwrite what the user owns."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hcl.errors import UserInputError


def write_atomically(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file in the same folder, fsync, then one
    ``os.replace``. Whatever fails or is interrupted before the rename, ``path`` keeps its previous
    content (or stays absent) and the temporary file is removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_output_file(path: str | Path, force: bool, flag: str) -> Path:
    """Refuse an output file that would replace one the user has (unless ``force``), that names a folder,
    or whose folder is missing; checked before the work that produces it."""
    path = Path(path)
    if path.is_dir():
        raise UserInputError(f"{path}: is a folder; give {flag} a file name")
    if path.exists() and not force:
        raise UserInputError(f"{path}: already exists; choose another {flag} or pass --force to replace it")
    if not path.parent.is_dir():
        raise UserInputError(f"{path.parent}: folder does not exist; create it first")
    return path


def prepare_output(out: Path, force: bool, marker: str) -> None:
    """Refuse to touch a folder the user owns; replace one hcl built (it holds ``marker``) when ``force``."""
    if out.exists() and not out.is_dir():
        raise UserInputError(f"{out}: exists and is not a folder; choose another OUT")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise UserInputError(f"{out}: folder is not empty; choose an empty OUT or pass --force to replace it")
        if not (out / marker).is_file():
            raise UserInputError(f"{out}: not empty and not a set built by hcl; refusing to delete it even with --force")
        shutil.rmtree(out)
