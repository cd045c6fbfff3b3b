"""The shared shape of a stage run, so each script in ``stages/`` stays a few lines long.

A stage run reads the parameter sections it declares, opens its MLflow run, computes into a
temporary output directory, writes the manifest, moves the directory into place, and logs
parameters, counts, timings and pictures before closing the run (so the run's duration is the
work's). User errors end the run with one line on stderr and exit status 1, leaving no output
and a FAILED run. The run reaches MLflow through the spool (:mod:`h2h.core.spool`), so the stage
does not wait for MLflow.

The sections a stage declares are exactly what it may read (anything else is a KeyError) and
what it must read: a declared section the work never reads is reported as a bug, because
dvc.yaml lists the same sections and an unread one would rerun the stage for nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from h2h.core.config import load_params
from h2h.core.errors import H2HError
from h2h.core.outputs import atomic_directory, write_manifest
from h2h.core.spool import SpooledTracker
from h2h.core.tracking import NullTracker, Tracker


class DeclaredParams(Mapping[str, Any]):
    """The params.yaml sections a stage declares, recording which of them it reads.

    Keys are section names (``crop``) or dotted entries (``variant_specs.no_eyes``), whose value
    is the entry (reachable too as ``params["variant_specs"]["no_eyes"]``).
    """

    def __init__(self, params: Mapping[str, Any], sections: tuple[str, ...]) -> None:
        self.sections = sections
        self._values: dict[str, Any] = {}
        for section in sections:
            head, _, entry = section.partition(".")
            value = params[head][entry] if entry else params[head]
            if entry:
                self._values.setdefault(head, {})[entry] = value
            else:
                self._values[head] = value
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        value = self._values[key]
        if key in self.sections:
            self.read.add(key)
            return value
        return _EntryView(value, key, self.read)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def as_dict(self) -> dict[str, Any]:
        """Every declared section by its name (for the manifest and MLflow)."""
        return {section: self._values[section.partition(".")[0]] if "." not in section
                else self._values[section.partition(".")[0]][section.partition(".")[2]]
                for section in self.sections}

    def unread(self) -> list[str]:
        return [section for section in self.sections if section not in self.read]


class _EntryView(Mapping[str, Any]):
    """The declared entries of one section (``variant_specs``), marking each read entry."""

    def __init__(self, values: dict[str, Any], section: str, read: set[str]) -> None:
        self._values, self._section, self._read = values, section, read

    def __getitem__(self, key: str) -> Any:
        value = self._values[key]
        self._read.add(f"{self._section}.{key}")
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass
class StageRun:
    """What a stage's work function receives and fills in."""

    stage: str
    unit: str
    params: DeclaredParams  # the params.yaml sections the stage declares
    out: Path  # the temporary output directory
    tracker: Tracker  # the stage's MLflow run, open while the work runs
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
    MLflow (default ``{"video": unit}``). Training stages pass ``track=False``: their runs open
    and close with the training itself, which continues an interrupted run's MLflow run.
    """
    out = Path(out)
    tracker: Tracker = (SpooledTracker(stage, unit, tags if tags is not None else {"video": unit})
                        if track else NullTracker())
    try:
        tracker.start()
        started = time.perf_counter()  # the run spans the work and its wall_s
        params = DeclaredParams(load_params(params_file), sections)
        tracker.log_params(params.as_dict())
        with atomic_directory(out) as tmp:
            run = StageRun(stage, unit, params, tmp, tracker)
            work(run)
            if params.unread():
                raise RuntimeError(f"stage {stage} declares params it does not read: "
                                   f"{', '.join(params.unread())} (remove them from dvc.yaml "
                                   "and the stage script)")
            write_manifest(tmp, stage, unit, params.as_dict(), **run.manifest)
    except H2HError as error:
        tracker.finish("FAILED")
        print(f"h2h {stage} {unit}: error: {error}", file=sys.stderr)
        return 1
    except BaseException:
        tracker.finish("FAILED")
        raise
    wall = time.perf_counter() - started
    metrics = {"wall_s": wall, **run.metrics}
    if run.frames:
        metrics.update(frames=run.frames, fps=run.frames / wall)
    tracker.log_metrics(metrics, step=0)
    for name in run.artifacts:
        tracker.log_artifact(out / name)
    tracker.finish("FINISHED")
    print(f"h2h {stage} {unit}: {run.frames} frames in {wall:.1f} s -> {out}", file=sys.stderr)
    return 0
