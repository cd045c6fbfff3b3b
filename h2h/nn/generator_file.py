"""The trained generator's file: G's weights with its configuration as plain data, loadable with
``torch.load(weights_only=True)`` (loading never unpickles code). What training writes and
reenactment reads; checkpoints use the same atomic writes.

Files are written to a temporary name in the same directory, flushed to disk and renamed into
place: a process killed at any moment leaves either the previous file or the new one, never a
truncated file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from h2h.core.errors import H2HError
from h2h.nn.config import (
    ModelConfig,
    build_generator,
    model_config_from_dict,
    model_config_to_dict,
)
from h2h.nn.generator import Generator

GENERATOR_FORMAT = 1


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
