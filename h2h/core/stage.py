"""The shared shape of a stage run, so each script in ``stages/`` stays a few lines long.

A stage run reads its parameter section, computes into a temporary output directory, writes the
manifest, moves the directory into place, and logs parameters, counts, timings and a picture to
MLflow. User errors end the run with one line on stderr and exit status 1, leaving no output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from h2h.core.config import load_params
from h2h.core.errors import H2HError
from h2h.core.outputs import atomic_directory, write_manifest
from h2h.core.tracking import log_stage_run


@dataclass
class StageRun:
    """What a stage's work function receives and fills in."""

    stage: str
    unit: str
    params: dict[str, Any]  # the params.yaml sections the stage declares, by section name
    out: Path  # the temporary output directory
    manifest: dict[str, Any] = field(default_factory=dict)  # extra manifest fields
    metrics: dict[str, float] = field(default_factory=dict)  # logged to MLflow
    artifacts: list[str] = field(default_factory=list)  # file names inside ``out`` for MLflow
    frames: int = 0  # frames processed, for the fps metric


def run_stage(
    stage: str,
    unit: str,
    out: str | Path,
    work: Callable[[StageRun], None],
    sections: tuple[str, ...],
    tags: dict[str, str] | None = None,
    params_file: str | Path = "params.yaml",
    track: bool = True,
) -> int:
    """Run ``work`` as stage ``stage`` for ``unit`` writing ``out``; return the exit status.

    ``sections`` are the params.yaml sections the stage depends on (as declared in dvc.yaml);
    only they reach ``work``, the manifest and MLflow. ``tags`` name what the unit is made of for
    MLflow (default ``{"video": unit}``). Stages that track themselves (training logs every
    step to its own run) pass ``track=False``.
    """
    out = Path(out)
    started = time.perf_counter()
    try:
        all_params = load_params(params_file)
        params = {section: all_params[section] for section in sections}
        with atomic_directory(out) as tmp:
            run = StageRun(stage, unit, params, tmp)
            work(run)
            write_manifest(tmp, stage, unit, params, **run.manifest)
    except H2HError as error:
        print(f"h2h {stage} {unit}: error: {error}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - started
    metrics = {"wall_s": wall, **run.metrics}
    if run.frames:
        metrics.update(frames=run.frames, fps=run.frames / wall)
    if track:
        log_stage_run(stage, unit, params, metrics, [out / name for name in run.artifacts],
                      tags=tags if tags is not None else {"video": unit})
    print(f"h2h {stage} {unit}: {run.frames} frames in {wall:.1f} s -> {out}", file=sys.stderr)
    return 0
