"""The raw files params.yaml names (the face model, the canonical face, every video), checked
before a workflow is planned, so that a missing one is reported with the command that gets it
rather than as a missing dependency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from h2h.core.config import resolve_path
from h2h.core.errors import MISSING_INPUT, H2HError


def raw_inputs(params: dict[str, Any], root: str | Path = ".") -> list[Path]:
    """Every file the pipeline reads that no stage makes, as paths under ``root``."""
    names = [params["face_model"]["ict"], params["face_model"]["canonical"],
             *(spec["path"] for spec in params["videos"].values())]
    return [resolve_path(name, root) for name in names]


def check_raw_inputs(params: dict[str, Any], root: str | Path = ".") -> None:
    """Raise :class:`H2HError` naming the first raw input that does not exist."""
    for path in raw_inputs(params, root):
        if not path.exists():
            raise H2HError(MISSING_INPUT, path)
