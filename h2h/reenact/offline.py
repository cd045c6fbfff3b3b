"""``h2h reenact``: a trained target driven by a raw source video, on the fly and without DVC
(paper 4.2).

The source goes through the same library calls as the pipeline's stages
(:mod:`h2h.reenact.recovery`: one fixed crop box, landmarks and pupils, Face Mesh and the
two-pass fit), is conditioned against the target (``head``: the source's pose adapted to the
target's frame; ``face``: the source's expressions on the target's own poses and eyes), and
each frame's NMFC and eye images are rendered, resized to the generator's resolution (as
training resized them) and turned into video by the generator one frame at a time. Every video
written carries the synthetic label of :mod:`h2h.media.label`.

The last phase overlaps its three per-frame steps on the cores
(:func:`h2h.core.overlap.overlapped`): rendering the NMFC and eye images, the generator, and
the mark and encoders, each in a thread, frames in order. The generator's thread count is
chosen by :class:`h2h.reenact.synthesis.Synthesiser` from measured step times.

Threads: BLAS and OpenMP run one thread per library in the other steps. Each frame is a chain of
short steps in different libraries, and on few cores their thread pools (torch's OpenMP, Mesa
llvmpipe's, MediaPipe's) otherwise spin against each other. Measured on 2 busy cores: the CPU
generator step inside the live loop took 70-230 ms with 2 torch threads and 7-12 ms with 1 (a
64 px test generator); the cpu preset's forward pass alone took 370-990 ms with 2 threads and
about 100 ms with 1. A GPU generator is not affected.

A trained target is what ``dvc repro`` leaves in a project: ``params.yaml``,
``data/face_model/model.npz``, ``data/fit|identity|landmarks/<target>/`` and
``data/finetune/<target>/<variant>/generator.pt``.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from h2h.core.config import load_params
from h2h.core.errors import H2HError
from h2h.core.overlap import StepTimes, overlapped
from h2h.core.progress import progress
from h2h.face3d.face_model import FaceModel
from h2h.media.label import synthetic_metadata
from h2h.media.video import iter_frames
from h2h.nn.config import ModelConfig
from h2h.nn.generator import Generator
from h2h.nn.generator_file import load_generator
from h2h.preprocess.eyes import eye_points
from h2h.preprocess.landmarks import to_table
from h2h.reenact.conditioning import SOURCE_MODES, ConditioningParams, check_mode
from h2h.reenact.recovery import recover_video
from h2h.reenact.synthesis import ReenactOutput, Synthesiser
from h2h.reenact.target import (
    Target,
    TargetPaths,
    condition_target,
    load_target,
    render_conditioning,
)


@dataclass(frozen=True)
class TrainedTarget:
    """Everything reenactment needs of one trained target of a project."""

    target: Target
    model: FaceModel
    generator: Generator
    config: ModelConfig
    params: dict[str, Any]  # the project's params.yaml
    variant: str


def generator_path(project: str | Path, target: str, variant: str = "full") -> Path:
    """Where the finetune stage writes a target's trained generator."""
    return Path(project) / "data" / "finetune" / target / variant / "generator.pt"


def load_trained_target(project: str | Path, name: str, variant: str = "full",
                        device: str | torch.device = "cpu") -> TrainedTarget:
    """Load target ``name`` of the project at ``project``. A missing parameter file, face model,
    target output or generator raises :class:`H2HError` saying which command makes it."""
    project = Path(project)
    params = load_params(project / "params.yaml")
    data = project / "data"
    model_path = data / "face_model" / "model.npz"
    if not model_path.is_file():
        raise H2HError(f"face model not found: run `dvc repro face_model` in {project}",
                       model_path)
    target = load_target(TargetPaths.under(data, name), name)
    weights = generator_path(project, name, variant)
    if not weights.is_file():
        raise H2HError(f"target {name!r} is not trained (no {variant!r} generator): run "
                       f"`dvc repro finetune@{name}-{variant}` in {project} to train it "
                       f"(with {name!r} in params.yaml targets and {variant!r} in variants)",
                       weights)
    generator, config = load_generator(weights, map_location=device)
    return TrainedTarget(target, FaceModel.load(model_path), generator, config, params, variant)


@dataclass
class ReenactReport:
    """What a reenactment did and how fast each step ran."""

    frames: int
    fps: float  # the source's frame rate, which the output keeps
    seconds: dict[str, float] = field(default_factory=dict)  # each step's busy time
    invalid_frames: int = 0  # frames without a fitted face (black conditioning)
    wall_seconds: float = 0.0  # the whole run, from the source's first byte to the last frame

    def step_fps(self) -> dict[str, float]:
        """Frames per second of each step alone, and ``total`` (end to end, wall time)."""
        rates = {step: self.frames / s for step, s in self.seconds.items() if s > 0}
        rates["total"] = self.frames / self.wall_seconds if self.wall_seconds else 0.0
        return rates


def reenact_video(source: str | Path, trained: TrainedTarget, mode: str, out: str | Path,
                  mark: bool = True, side_by_side: str | Path | None = None,
                  max_frames: int = 0, device: str | torch.device = "cpu",
                  workers: bool = True) -> ReenactReport:
    """Reenact ``trained`` with the first ``max_frames`` frames (0: all) of the raw video
    ``source`` in ``mode`` ("head" or "face") and write the result to ``out``.

    Memory does not grow with the video's length: frames are decoded as they are used, and the
    source's crops are kept (in a temporary H.264 4:4:4 file) only for a side-by-side video.
    ``workers=False`` runs every per-frame step in this thread, one after the other (the same
    video). Raises :class:`H2HError` for a missing or unreadable source, a source without a
    face and an unknown mode; nothing is written then.
    """
    started = time.perf_counter()
    check_mode(mode, SOURCE_MODES)
    params, model, target = trained.params, trained.model, trained.target
    times = StepTimes()
    with tempfile.TemporaryDirectory(prefix="h2h-reenact-") as tmp:
        crops = Path(tmp) / "frames.mkv" if side_by_side is not None else None
        recovery = recover_video(source, params, model, max_frames, crops, times, workers)
        with times("conditioning+render"):
            conditioning, _ = condition_target(
                mode, target, recovery.fit, eye_points(to_table(recovery.track.series)),
                ConditioningParams.from_params(params).smooth_sigma)
        synthesise = Synthesiser(trained.generator, trained.config, device)

        def inputs() -> Iterator[tuple[np.ndarray | None, np.ndarray, np.ndarray]]:
            images = render_conditioning(conditioning, model, target.size, target.identity)
            # The crops are decoded again only for the side-by-side video's tiles.
            crop_frames = (times.timed(iter_frames(crops), "encode") if crops is not None
                           else itertools.repeat(None))
            try:
                for (nmfc, eyes), crop in zip(times.timed(images, "conditioning+render"),
                                              crop_frames):
                    yield crop, nmfc, eyes
            finally:
                images.close()

        def generate(item: tuple[Any, ...]) -> tuple[Any, ...]:
            with times("generator"):
                return (*item, synthesise(*item[1:]))

        metadata = synthetic_metadata(target.name, Path(source).name, mode)
        # One thread per library in the other steps (see the module docstring).
        with threadpool_limits(1), ReenactOutput(out, recovery.fps, metadata, mark,
                                                 side_by_side) as output:
            frames = overlapped(inputs(), [generate], workers=workers)
            for crop, nmfc, eyes, result in progress(frames, "reenact", recovery.frames):
                with times("encode"):
                    output.write(result, crop, nmfc, eyes)
            with times("encode"):
                output.close()
    invalid = int((~conditioning.table["valid"].to_numpy(bool)).sum())
    return ReenactReport(recovery.frames, recovery.fps, dict(times.seconds), invalid,
                         time.perf_counter() - started)
