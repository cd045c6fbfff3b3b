"""Live reenactment (paper: "head reenactment from web-camera captures in nearly real-time"):
every frame is processed as it arrives, with no look-ahead.

Per frame: the crop box is tracked online (:class:`h2h.preprocess.crop.BoxTracker`); dlib's landmarks and
the pupils, and Face Mesh in tracking mode, run on the crop; the camera and expression are
fitted with the source's identity, which is estimated from the first ``identity_frames`` frames
with a face and then frozen (the mean face stands in until then); the conditioning is
:class:`h2h.reenact.conditioning.OnlineConditioner` (running statistics instead of whole-video means);
then the NMFC and eye images, the generator step, the mark and the encoder. A frame whose face
is lost reuses the last fit for up to ``max_gap`` frames (the causal form of the stages' gap
filling); after that its conditioning is black, as offline.

Cameras and eye points are converted from crop to full-frame pixels before conditioning, so a
crop box that moves does not move the reenacted head.
"""

from __future__ import annotations

import signal
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from h2h.face3d.facemesh import FaceMeshTracker
from h2h.face3d.fit import FitParams, FrameFitter, estimate_identity
from h2h.face3d.nmfc import NMFCRenderer
from h2h.media.label import synthetic_metadata
from h2h.preprocess.crop import BoxTracker, CropBox, CropParams
from h2h.preprocess.eyes import EYE_POINTS, draw_eyes
from h2h.preprocess.landmarks import LandmarkDetector, LandmarksParams
from h2h.reenact.conditioning import ConditioningParams, OnlineConditioner
from h2h.reenact.offline import StepTimes, TrainedTarget
from h2h.reenact.synthesis import ReenactOutput, Synthesiser

T = TypeVar("T")


class _Hold(Generic[T]):
    """The last valid value, repeated for at most ``max_gap`` frames after it."""

    def __init__(self, max_gap: int) -> None:
        self.max_gap = max_gap
        self._value: T | None = None
        self._age = 0

    def __call__(self, value: T | None) -> T | None:
        if value is not None:
            self._value, self._age = value, 0
            return value
        self._age += 1
        return self._value if self._age <= self.max_gap else None


def _to_frame(box: CropBox, size: int) -> tuple[float, np.ndarray]:
    """Scale and offset taking crop pixels to frame pixels (pixel centres aligned)."""
    k = box.side / size
    return k, np.array([box.x0, box.y0]) + 0.5 * k - 0.5


@dataclass
class LiveFrame:
    """One processed frame: the generated result and what it was made from."""

    result: np.ndarray  # generator resolution, unmarked
    crop: np.ndarray  # the source crop
    nmfc: np.ndarray  # at the target's crop size
    eyes: np.ndarray
    face: bool  # a fitted face drove this frame


class LiveReenactor:
    """Reenacts ``trained`` frame by frame from a stream of ``frame_width`` x ``frame_height``
    RGB frames. Use as a context manager (it holds Face Mesh and an EGL context)."""

    def __init__(self, trained: TrainedTarget, mode: str, frame_width: int, frame_height: int,
                 identity_frames: int = 25, device: str | torch.device = "cpu") -> None:
        params = trained.params
        crop = CropParams.from_params(params)
        self.size = crop.size
        self.frame_width, self.frame_height = frame_width, frame_height
        self.boxes = BoxTracker(crop, frame_width, frame_height)
        landmarks = LandmarksParams.from_params(params)
        self.landmarks = LandmarkDetector(landmarks.upsample)
        fit = FitParams.from_params(params)
        self.fitter = FrameFitter(trained.model, fit)
        self.identity_frames = identity_frames
        self.source_identity = np.zeros(self.fitter.n_id)
        self.identity_frozen = False
        self._warmup: list[np.ndarray] = []
        self._previous: np.ndarray | None = None
        self._fit_hold: _Hold[tuple[np.ndarray, np.ndarray]] = _Hold(fit.max_gap)
        self._eyes_hold: _Hold[np.ndarray] = _Hold(landmarks.max_gap)
        train_rows, train_eyes = trained.target.part("train")
        self.conditioner = OnlineConditioner(mode, train_rows, train_eyes,
                                             ConditioningParams.from_params(params).smooth_sigma)
        self.target_size = trained.target.size
        self.synthesise = Synthesiser(trained.generator, trained.config, device)
        self.times = StepTimes()
        self._mesh = FaceMeshTracker()
        self._renderer = NMFCRenderer(trained.model, self.target_size, self.target_size)
        self._neutral = self._renderer.neutral_shape(trained.target.identity)
        self._black = np.zeros((self.target_size, self.target_size, 3), np.uint8)

    def close(self) -> None:
        self._mesh.close()
        self._renderer.close()

    def __enter__(self) -> LiveReenactor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _box(self, frame: np.ndarray) -> CropBox:
        box = self.boxes.update(frame)
        if box is None:  # no face yet: the centred square
            side = min(self.frame_width, self.frame_height)
            box = CropBox((self.frame_width - side) // 2, (self.frame_height - side) // 2, side)
        return box

    def _fit(self, crop: np.ndarray, scale: float,
             offset: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(camera in frame pixels, expression) of the crop, or None without a face."""
        points = self._mesh(crop)
        if points is None:
            return None
        if not self.identity_frozen:
            self._warmup.append(points)
            if len(self._warmup) >= self.identity_frames:
                found = np.ones(len(self._warmup), bool)
                self.source_identity = estimate_identity(self.fitter, np.stack(self._warmup),
                                                         found)
                self.identity_frozen = True
                self._warmup.clear()
        # Camera and expression only: the frame's own identity and error are not needed live.
        cam, fitted = self.fitter.fit_expression(np.asarray(points, np.float64),
                                                 self.source_identity, self._previous)
        self._previous = fitted
        camera = self.fitter.table_camera(cam, self.size)
        camera[3:5] = offset + scale * camera[3:5]
        camera[5] *= scale
        return camera, self.fitter.full_expression(fitted)

    def step(self, frame: np.ndarray) -> LiveFrame:
        """Process the next frame of the stream."""
        times = self.times
        with times("crop"):
            box = self._box(frame)
            crop = box.cut(frame, self.size)
            scale, offset = _to_frame(box, self.size)
        with times("landmarks"):
            points = self.landmarks(crop)
            eyes = self._eyes_hold(
                None if points is None else offset + scale * points[list(EYE_POINTS)])
        with times("facemesh+fit"):
            fit = self._fit_hold(self._fit(crop, scale, offset))
        with times("conditioning+render"):
            nmfc, sketch, face = self._black, self._black, False
            if fit is not None:
                camera, expression = fit
                eye_pts = eyes if eyes is not None else np.full((14, 2), np.nan)
                driven = self.conditioner.step(camera, eye_pts)
                if driven is not None:
                    camera, eye_pts = driven
                    nmfc = self._renderer.render_expression(self._neutral, expression, camera)
                    sketch = draw_eyes(eye_pts, self.target_size, self.target_size)
                    face = True
            else:
                self.conditioner.step(np.full(6, np.nan), np.full((14, 2), np.nan))
        with times("generator"):
            result = self.synthesise(nmfc, sketch)
        return LiveFrame(result, crop, nmfc, sketch, face)


@dataclass
class LiveReport:
    """Speed of a live run: frames per second end to end and the latency of each frame."""

    frames: int
    seconds: float  # from the first frame's arrival to the last frame written
    latencies: list[float] = field(default_factory=list)  # s, arrival -> written, per frame
    step_seconds: dict[str, float] = field(default_factory=dict)
    frames_without_face: int = 0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def latency_median_ms(self) -> float:
        return 1000 * statistics.median(self.latencies) if self.latencies else 0.0

    @property
    def latency_p95_ms(self) -> float:
        return 1000 * float(np.percentile(self.latencies, 95)) if self.latencies else 0.0

    def step_fps(self) -> dict[str, float]:
        """Frames per second of each step alone."""
        return {step: self.frames / s for step, s in self.step_seconds.items() if s > 0}


def reenact_live(frames: Iterable[np.ndarray], width: int, height: int, fps: float,
                 trained: TrainedTarget, mode: str, out: str | Path, mark: bool = True,
                 side_by_side: str | Path | None = None, identity_frames: int = 25,
                 source_name: str = "live input",
                 device: str | torch.device = "cpu") -> LiveReport:
    """Reenact ``trained`` live from ``frames`` (an iterable that yields each frame as it
    arrives, e.g. :class:`h2h.media.capture.LiveCapture`) and write ``out`` at ``fps``; returns the
    speed report once the frames end. The latency of a frame runs from the moment the iterable
    hands it over to the moment it is passed to the encoder."""
    metadata = synthetic_metadata(trained.target.name, source_name, mode)
    latencies: list[float] = []
    without_face = 0
    first_arrival = last_written = 0.0
    # One thread per library (see the docstring of h2h.reenact.offline).
    with threadpool_limits(1), \
            LiveReenactor(trained, mode, width, height, identity_frames, device) as reenactor, \
            ReenactOutput(out, fps, metadata, mark, side_by_side) as output:
        for frame in frames:
            arrived = time.perf_counter()
            first_arrival = first_arrival or arrived
            processed = reenactor.step(frame)
            with reenactor.times("encode"):
                output.write(processed.result, processed.crop, processed.nmfc, processed.eyes)
            last_written = time.perf_counter()
            latencies.append(last_written - arrived)
            without_face += not processed.face
        with reenactor.times("encode"):
            output.close()
        step_seconds = dict(reenactor.times.seconds)
    return LiveReport(len(latencies), last_written - first_arrival, latencies, step_seconds,
                      without_face)


@contextmanager
def stop_on_interrupt(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on the first Ctrl-C (SIGINT) or SIGTERM, so that a live run ends like a
    stream that ended: the frames so far are encoded and the report printed. A second Ctrl-C
    interrupts at once. Only in the main thread (where Python delivers signals)."""
    hits = 0

    def handler(signum: int, frame: object) -> None:
        nonlocal hits
        hits += 1
        if hits > 1:
            raise KeyboardInterrupt
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
