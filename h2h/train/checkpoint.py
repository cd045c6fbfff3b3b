"""Training checkpoints, loadable with ``weights_only=True``.

Only tensors, numbers, strings, lists and dicts are stored (configurations as plain dicts, RNG
states as tensors and lists), so loading never unpickles code. Checkpoints are written like the
generator file (:mod:`h2h.nn.generator_file`): a run killed at any moment leaves either the
previous checkpoint or the new one, never a truncated file.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from h2h.core.errors import H2HError
from h2h.nn.generator_file import atomic_save, safe_load

CHECKPOINT_FORMAT = 1
_NAME = re.compile(r"^step-(\d+)\.pt$")


def checkpoint_path(directory: str | Path, step: int) -> Path:
    return Path(directory) / f"step-{step:09d}.pt"


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoint files of a directory, oldest step first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(path: str | Path) -> Path | None:
    """The newest checkpoint in a directory (or ``path`` itself when it is a file)."""
    path = Path(path)
    if path.is_file():
        return path
    found = list_checkpoints(path)
    return found[-1] if found else None


def save_checkpoint(directory: str | Path, state: dict[str, Any], keep: int = 1) -> Path:
    """Write ``state`` (which must hold "step") as step-<step>.pt; keep only the ``keep`` newest."""
    path = checkpoint_path(directory, state["step"])
    atomic_save({"format": CHECKPOINT_FORMAT, **state}, path)
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    for partial in Path(directory).glob(".step-*.tmp"):  # left by a process killed mid-write
        partial.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A checkpoint written by :func:`save_checkpoint` (weights_only)."""
    state = safe_load(path, map_location)
    if state.get("format") != CHECKPOINT_FORMAT or "models" not in state:
        raise H2HError("not a training checkpoint of this version", path)
    return state


def rng_state() -> dict[str, Any]:
    """The torch, CUDA, numpy and Python random states as tensors and lists."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "gauss": gauss},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np_state = state["numpy"]
    np.random.set_state((np_state["kind"], np_state["keys"].numpy().astype(np.uint32),
                         np_state["pos"], np_state["has_gauss"], np_state["gauss"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))


