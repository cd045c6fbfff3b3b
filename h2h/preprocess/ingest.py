"""Validating a raw video before anything is computed from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from h2h.core.config import Section
from h2h.core.errors import MISSING_INPUT, H2HError
from h2h.media.video import probe


@dataclass(frozen=True)
class IngestParams(Section):
    """params.yaml's ``ingest`` section: the limits a raw video must meet."""

    name: ClassVar[str] = "ingest"

    min_frames: int
    max_frames: int  # frames kept from the start of the video, 0 = all
    min_size: int
    max_size: int
    min_fps: float
    max_fps: float


def validate_video(path: str | Path, params: IngestParams) -> dict[str, Any]:
    """Decode ``path`` completely and check it against the limits.

    Returns the facts later stages need (frame size, exact frame count, fps, how many frames are
    used); raises :class:`H2HError` naming the file and the reason otherwise.
    """
    if not Path(path).exists():
        raise H2HError(MISSING_INPUT, path)
    info = probe(path)
    if info.frame_count < params.min_frames:
        raise H2HError(f"too few frames ({info.frame_count} < {params.min_frames})", path)
    if min(info.width, info.height) < params.min_size:
        raise H2HError(f"frame size {info.width}x{info.height} is below the minimum "
                       f"{params.min_size} px", path)
    if max(info.width, info.height) > params.max_size:
        raise H2HError(f"frame size {info.width}x{info.height} is above the maximum "
                       f"{params.max_size} px", path)
    if not params.min_fps <= info.fps <= params.max_fps:
        raise H2HError(f"frame rate {info.fps:g} fps is outside [{params.min_fps:g}, "
                       f"{params.max_fps:g}]", path)
    used = info.frame_count if params.max_frames == 0 else min(info.frame_count, params.max_frames)
    return {
        "path": str(path),
        "size_bytes": Path(path).stat().st_size,
        "codec": info.codec,
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "frame_count": info.frame_count,
        "frames": used,
    }
