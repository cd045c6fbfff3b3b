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

import cv2
import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from h2h.core.config import load_params
from h2h.core.errors import H2HError
from h2h.core.progress import progress
from h2h.face3d.face_model import FaceModel
from h2h.face3d.facemesh import detect_face_mesh
from h2h.face3d.fit import FitSettings, check_coverage, fit_video
from h2h.media.label import add_visible_mark, synthetic_metadata
from h2h.media.video import VideoInfo, VideoWriter, iter_frames, probe
from h2h.nn.config import ModelConfig
from h2h.nn.generator import Generator
from h2h.preprocess.crop import CropParams, crop_video
from h2h.preprocess.eyes import eye_points
from h2h.preprocess.landmarks import LandmarksParams, LandmarkTrack, to_table, track_landmarks
from h2h.reenact.conditioning import SOURCE_MODES, check_mode
from h2h.reenact.side_by_side import side_by_side_frame
from h2h.reenact.streaming import StreamingGenerator
from h2h.reenact.target import (
    Target,
    TargetPaths,
    condition_target,
    load_target,
    render_conditioning,
)
from h2h.train.checkpoint import load_generator

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


def default_device() -> str:
    """The generator's device: the first CUDA GPU when there is one, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


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
    crop_params = CropParams(**params["crop"])
    with times("crop"):
        crop_video(video, n, info.fps, info.width, info.height, crop_params, crops,
                   n_previews=0)
    with times("landmarks"):
        track = track_landmarks(iter_frames(crops), LandmarksParams(**params["landmarks"]), video)
    with times("facemesh+fit"):
        points, found = detect_face_mesh(iter_frames(crops), total=n)
        table = fit_video(model, points, found, crop_params.size,
                          FitSettings.from_params(params["fit"]))
        check_coverage(table, params["fit"]["min_valid"], video)
    return track, table


def resize_to(image: np.ndarray, resolution: int) -> np.ndarray:
    """A square image at ``resolution`` (cv2.INTER_AREA, as training resizes its inputs)."""
    if image.shape[0] == resolution:
        return image
    return cv2.resize(image, (resolution, resolution), interpolation=cv2.INTER_AREA)


class Synthesiser:
    """The generator's side of reenactment, one frame at a time: the NMFC and eye images at the
    generator's resolution, stacked on channels as in training (NMFC alone for a generator
    trained without eyes), in, the generated frame out."""

    def __init__(self, generator: Generator, config: ModelConfig,
                 device: str | torch.device = "cpu") -> None:
        self.stream = StreamingGenerator(generator, device)
        self.resolution = config.resolution
        self.eyes = not config.ablation.no_eyes

    def __call__(self, nmfc: np.ndarray, eyes: np.ndarray) -> np.ndarray:
        condition = resize_to(nmfc, self.resolution)
        if self.eyes:
            condition = np.concatenate([condition, resize_to(eyes, self.resolution)], axis=-1)
        return self.stream.step(condition)


class ReenactOutput:
    """The video(s) a reenactment writes, in ``delivery`` mode at the source's frame rate:
    the result and optionally a side-by-side video (source crop | NMFC | eyes | result under a
    title row, panels of at least 256 px: :mod:`h2h.reenact.side_by_side`) and a lossless copy
    of the result (exact pixels, for metrics). All carry the synthetic metadata; the visible mark
    is drawn on every result frame unless ``mark`` is False. Files appear only when closed
    successfully."""

    def __init__(self, out: str | Path, fps: float, metadata: dict[str, str], mark: bool = True,
                 side_by_side: str | Path | None = None,
                 lossless: str | Path | None = None) -> None:
        self.mark = mark
        self.writers = [VideoWriter(out, fps, "delivery", metadata)]
        self.side_by_side = self.lossless = None
        if side_by_side is not None:
            self.side_by_side = VideoWriter(side_by_side, fps, "delivery", metadata)
            self.writers.append(self.side_by_side)
        if lossless is not None:
            self.lossless = VideoWriter(lossless, fps, "lossless", metadata)
            self.writers.append(self.lossless)
        self.frames = 0
        self._open = True

    def write(self, result: np.ndarray, crop: np.ndarray | None, nmfc: np.ndarray,
              eyes: np.ndarray) -> None:
        """Append one generated frame (and its inputs, for the side-by-side video: ``crop``
        may be None when there is none)."""
        shown = add_visible_mark(result) if self.mark else result
        self.writers[0].write(shown)
        if self.side_by_side is not None:
            self.side_by_side.write(side_by_side_frame(crop, nmfc, eyes, result, self.mark))
        if self.lossless is not None:
            self.lossless.write(shown)
        self.frames += 1

    def close(self) -> None:
        """Finish every video (raises H2HError when nothing was written)."""
        self._open = False
        for writer in self.writers:
            writer.close()

    def abort(self) -> None:
        """Stop and remove every partial video."""
        self._open = False
        for writer in self.writers:
            writer.abort()

    def __enter__(self) -> ReenactOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None:
            self.abort()
        elif self._open:
            self.close()


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
                                               params["conditioning"]["smooth_sigma"])
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
