"""``h2h reenact``: a trained target driven by a raw source video, on the fly and without DVC
(paper 4.2).

The source goes through the same library calls as the pipeline's stages (one fixed crop box,
landmarks and pupils, Face Mesh and the two-pass fit), is conditioned against the target
(``head``: the source's pose adapted to the target's frame; ``face``: the source's expressions on
the target's own poses and eyes), and each frame's NMFC and eye images are rendered, resized to
the generator's resolution (as training resized them) and turned into video by the generator one
frame at a time. Every video written carries the synthetic label of :mod:`h2h.media.label`.

Threads: the frame loops (here and in :mod:`h2h.reenact.live`) run with one thread per library (BLAS
and OpenMP, torch's included). Each frame is a chain of short steps in different libraries, and
on few cores their thread pools (torch's OpenMP, Mesa llvmpipe's, MediaPipe's) otherwise spin
against each other. Measured on 2 busy cores: the CPU generator step inside the live loop took
70-230 ms with 2 torch threads and 7-12 ms with 1 (a 64 px test generator); the cpu preset's
forward pass alone took 370-990 ms with 2 threads and about 100 ms with 1. A GPU generator is
not affected.

A trained target is what ``dvc repro`` leaves in a project: ``params.yaml``,
``data/face_model/model.npz``, ``data/fit|identity|landmarks/<target>/`` and
``data/finetune/<target>/<variant>/generator.pt``.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from h2h.core.config import load_params
from h2h.core.errors import H2HError
from h2h.core.progress import progress
from h2h.face3d.face_model import FaceModel
from h2h.face3d.facemesh import detect_face_mesh
from h2h.face3d.fit import FitParams, check_coverage, fit_video
from h2h.media.label import synthetic_metadata
from h2h.media.video import VideoInfo, iter_frames, probe
from h2h.nn.config import ModelConfig
from h2h.nn.generator import Generator
from h2h.nn.generator_file import load_generator
from h2h.preprocess.crop import CropParams, crop_video
from h2h.preprocess.eyes import eye_points
from h2h.preprocess.landmarks import LandmarksParams, LandmarkTrack, to_table, track_landmarks
from h2h.reenact.conditioning import SOURCE_MODES, ConditioningParams, check_mode
from h2h.reenact.synthesis import ReenactOutput, Synthesiser
from h2h.reenact.target import (
    Target,
    TargetPaths,
    condition_target,
    load_target,
    render_conditioning,
)

#: The steps whose speed ``h2h reenact`` and ``h2h bench reenact`` report, in pipeline order.
STEPS: tuple[str, ...] = ("crop", "landmarks", "facemesh+fit", "conditioning+render",
                          "generator", "encode")


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


class StepTimes:
    """Wall time spent in each named step, summed over frames."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] += time.perf_counter() - started


def recover_video(video: str | Path, info: VideoInfo, n: int, params: Mapping[str, Any],
                  model: FaceModel, crops: Path,
                  times: StepTimes | None = None) -> tuple[LandmarkTrack, pd.DataFrame]:
    """The crop, landmarks and fit stages' work on the first ``n`` frames of a raw video, in
    process: the crops are written to ``crops`` (decoded again by each later step, so memory
    does not grow with the video), the landmark track and the fit table are returned.
    ``times`` collects each step's wall time. Raises :class:`H2HError` naming ``video`` when it
    has no face or too few fitted frames."""
    times = times or StepTimes()
    crop_params = CropParams.from_params(params)
    with times("crop"):
        crop_video(video, n, info.fps, info.width, info.height, crop_params, crops,
                   n_previews=0)
    with times("landmarks"):
        track = track_landmarks(iter_frames(crops), LandmarksParams.from_params(params), video)
    with times("facemesh+fit"):
        points, found = detect_face_mesh(iter_frames(crops), total=n)
        fit = FitParams.from_params(params)
        table = fit_video(model, points, found, crop_params.size, fit)
        check_coverage(table, fit.min_valid, video)
    return track, table


@dataclass
class ReenactReport:
    """What a reenactment did and how fast each step ran."""

    frames: int
    fps: float  # the source's frame rate, which the output keeps
    seconds: dict[str, float] = field(default_factory=dict)  # per step, summed over frames
    invalid_frames: int = 0  # frames without a fitted face (black conditioning)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def step_fps(self) -> dict[str, float]:
        """Frames per second of each step alone, and ``total`` (end to end)."""
        rates = {step: self.frames / s for step, s in self.seconds.items() if s > 0}
        rates["total"] = self.frames / self.total_seconds if self.total_seconds else 0.0
        return rates


def reenact_video(source: str | Path, trained: TrainedTarget, mode: str, out: str | Path,
                  mark: bool = True, side_by_side: str | Path | None = None,
                  max_frames: int = 0, device: str | torch.device = "cpu") -> ReenactReport:
    """Reenact ``trained`` with the first ``max_frames`` frames (0: all) of the raw video
    ``source`` in ``mode`` ("head" or "face") and write the result to ``out``.

    The source's crops live in a temporary directory (H.264 4:4:4, as the crop stage writes
    them) and are decoded once per step, so memory does not grow with the video's length.
    Raises :class:`H2HError` for a missing or unreadable source, a source without a face and
    an unknown mode; nothing is written then.
    """
    check_mode(mode, SOURCE_MODES)
    info = probe(source)
    n = min(info.frame_count, max_frames) if max_frames > 0 else info.frame_count
    params, model, target = trained.params, trained.model, trained.target
    times = StepTimes()
    with tempfile.TemporaryDirectory(prefix="h2h-reenact-") as tmp:
        crops = Path(tmp) / "frames.mkv"
        track, table = recover_video(source, info, n, params, model, crops, times)
        with times("conditioning+render"):
            conditioning, _ = condition_target(mode, target, table,
                                               eye_points(to_table(track.series)),
                                               ConditioningParams.from_params(params).smooth_sigma)
            images = render_conditioning(conditioning, model, target.size, target.identity)
        synthesise = Synthesiser(trained.generator, trained.config, device)
        metadata = synthetic_metadata(target.name, Path(source).name, mode)
        # One thread per library (see the module docstring).
        with threadpool_limits(1):
            try:
                # The crops are decoded again only for the side-by-side video's tiles.
                crop_frames = (iter_frames(crops) if side_by_side is not None
                               else itertools.repeat(None, n))
                with ReenactOutput(out, info.fps, metadata, mark, side_by_side) as output:
                    for crop in progress(crop_frames, "reenact", n):
                        with times("conditioning+render"):
                            nmfc, eyes = next(images)
                        with times("generator"):
                            result = synthesise(nmfc, eyes)
                        with times("encode"):
                            output.write(result, crop, nmfc, eyes)
                    with times("encode"):
                        output.close()
            finally:
                images.close()
    invalid = int((~conditioning.table["valid"].to_numpy(bool)).sum())
    return ReenactReport(n, info.fps, dict(times.seconds), invalid)
