"""Training checkpoints and the final generator file, loadable with ``weights_only=True``.

Only tensors, numbers, strings, lists and dicts are stored (configurations as plain dicts, RNG
states as tensors and lists), so loading never unpickles code. Files are written to a temporary
name in the same directory, flushed to disk and renamed into place: a run killed at any moment
leaves either the previous checkpoint or the new one, never a truncated file.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from h2h.core.errors import H2HError
from h2h.nn.config import ModelConfig, build_generator
from h2h.nn.generator import Generator
from h2h.train.config import model_config_from_dict, model_config_to_dict

CHECKPOINT_FORMAT = 1
GENERATOR_FORMAT = 1
_NAME = re.compile(r"^step-(\d+)\.pt$")


def atomic_save(obj: Any, path: str | Path) -> None:
    """torch.save to a temporary file beside ``path``, fsync, rename into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # make the rename itself durable
    finally:
        os.close(fd)


def safe_load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """``torch.load(weights_only=True)``; a missing or unreadable file is an H2HError."""
    path = Path(path)
    if not path.is_file():
        raise H2HError("file not found", path)
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 (torch raises many kinds for a bad file)
        raise H2HError(f"not a loadable checkpoint ({type(exc).__name__}: {exc})", path) from exc
    if not isinstance(data, dict):
        raise H2HError("not a checkpoint (expected a dict)", path)
    return data


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


def save_generator(path: str | Path, generator: Generator, model_config: ModelConfig) -> None:
    """The trained G with its configuration as primitives: what reenactment loads."""
    state = {k: v.detach().cpu() for k, v in generator.state_dict().items()}
    atomic_save({"format": GENERATOR_FORMAT, "kind": "h2h-generator",
                 "model_config": model_config_to_dict(model_config), "state_dict": state}, path)


def load_generator(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[Generator, ModelConfig]:
    """Rebuild G from :func:`save_generator`'s file (weights_only); returns it in eval mode."""
    data = safe_load(path, map_location)
    if data.get("kind") != "h2h-generator" or data.get("format") != GENERATOR_FORMAT:
        raise H2HError("not a generator file of this version (use the training output "
                       "generator.pt)", path)
    config = model_config_from_dict(data["model_config"])
    generator = build_generator(config).to(map_location)
    generator.load_state_dict(data["state_dict"])
    return generator.eval(), config
