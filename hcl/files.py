"""Writing files so that a reader never sees half of one: checkpoints, images, run records."""

from __future__ import annotations

import os
from pathlib import Path


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
