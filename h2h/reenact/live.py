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

The work is split in two steps overlapped on the cores (:func:`h2h.core.overlap.overlapped`):
everything up to the NMFC and eye images, then the generator; the mark and the encoders run in
the caller's thread. The first step starts just in time for the generator
(:class:`h2h.core.pacing.JustInTime`), taking the newest frame that has arrived.

Staying current: a thread reads the input as fast as it arrives and stamps each frame's
arrival. When frames arrive faster than they are processed, the frames that arrived while the
previous one was processed are dropped and the newest is taken (:class:`h2h.core.arrivals.Newest`),
so the output never falls behind; each dropped frame repeats the last output frame in the
video, so that the video keeps the input's timing. ``drop=False`` (``--no-drop``, for a video
piped in faster than real time) processes every frame instead and reads the input only as
fast as it is processed. A frame's latency runs from its arrival to its output frame going to
the encoder, waiting included.
"""

from __future__ import annotations

import signal
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from h2h.core.arrivals import Arrival, Backlog, Newest, receive
from h2h.core.errors import H2HError
from h2h.core.overlap import StepTimes, overlapped
from h2h.core.pacing import JustInTime
from h2h.face3d.facemesh import FaceMeshTracker
from h2h.face3d.fit import FitParams, FrameFitter, estimate_identity
from h2h.face3d.nmfc import NMFCRenderer
from h2h.media.label import synthetic_metadata
from h2h.preprocess.crop import BoxTracker, CropBox, CropParams
from h2h.preprocess.eyes import EYE_POINTS, draw_eyes
from h2h.preprocess.landmarks import LandmarkDetector, LandmarksParams
from h2h.reenact.conditioning import ConditioningParams, OnlineConditioner
from h2h.reenact.offline import TrainedTarget
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

    crop: np.ndarray  # the source crop
    nmfc: np.ndarray  # at the target's crop size
    eyes: np.ndarray
    face: bool  # a fitted face drove this frame
    result: np.ndarray | None = None  # generator resolution, unmarked (None before the generator)


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

    def prime(self) -> None:
        """Run each library once on a blank frame (no face: no state changes), so that the
        first real frame does not pay for graph start-up, shader compilation and the
        generator's first pass, and frames arriving meanwhile are not dropped for it."""
        blank = np.zeros((self.size, self.size, 3), np.uint8)
        self._mesh(blank)
        self.landmarks(blank)
        centre = self.target_size / 2
        self._renderer.render_expression(self._neutral, np.zeros(self.fitter.n_exp_model),
                                         np.array([0.0, 0.0, 0.0, centre, centre, 1.0]))
        self.synthesise(self._black, self._black)
        self.synthesise.stream.reset()

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

    def prepare(self, frame: np.ndarray) -> LiveFrame:
        """Everything up to the next frame's NMFC and eye images. Raises :class:`H2HError`
        for a frame that is not of the stream's size and RGB."""
        expected = (self.frame_height, self.frame_width, 3)
        if frame.shape != expected or frame.dtype != np.uint8:
            raise H2HError(f"a frame of the live input is {frame.dtype} {frame.shape}, not "
                           f"uint8 {expected} like the stream")
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
        return LiveFrame(crop, nmfc, sketch, face)

    def generate(self, prepared: LiveFrame) -> LiveFrame:
        """The generator's frame for a :meth:`prepare` result."""
        with self.times("generator"):
            return replace(prepared, result=self.synthesise(prepared.nmfc, prepared.eyes))


@dataclass
class LiveReport:
    """Speed of a live run: frames per second end to end and the latency of each frame."""

    frames: int  # frames processed
    seconds: float  # from the first frame's arrival to the last frame written
    latencies: list[float] = field(default_factory=list)  # s, arrival -> written, per frame
    step_seconds: dict[str, float] = field(default_factory=dict)
    frames_without_face: int = 0
    received: int = 0  # frames that arrived (processed + dropped)
    dropped: int = 0  # frames skipped to stay current

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
                 source_name: str = "live input", device: str | torch.device = "cpu",
                 drop: bool = True, workers: bool = True) -> LiveReport:
    """Reenact ``trained`` live from ``frames`` (an iterable that yields each frame as it
    arrives, e.g. :class:`h2h.media.capture.LiveCapture`) and write ``out`` at ``fps``; returns
    the speed report once the frames end (see the module docstring for ``drop``; ``workers=False``
    runs both steps in this thread). A failure (e.g. a frame of another size) raises, stops
    every thread and leaves no video."""
    metadata = synthetic_metadata(trained.target.name, source_name, mode)
    inbox = Newest() if drop else Backlog()
    pacer = JustInTime()
    latencies: list[float] = []
    without_face = 0
    first_arrival = last_written = 0.0
    reader = None
    try:
        # One thread per library in the first step (see the docstring of h2h.reenact.offline).
        with threadpool_limits(1), \
                LiveReenactor(trained, mode, width, height, identity_frames, device) as reenactor, \
                ReenactOutput(out, fps, metadata, mark, side_by_side) as output:
            reenactor.prime()
            reader = receive(frames, inbox)

            def prepared() -> Iterator[tuple[Arrival, LiveFrame]]:
                arrivals = iter(inbox)
                while True:
                    pacer.wait()
                    arrival = next(arrivals, None)
                    if arrival is None:
                        return
                    started = time.perf_counter()
                    item = reenactor.prepare(arrival.frame)
                    pacer.first_done(time.perf_counter() - started)
                    yield arrival, item

            def generate(pair: tuple[Arrival, LiveFrame]) -> tuple[Arrival, LiveFrame]:
                pacer.second_started()
                started = time.perf_counter()
                result = reenactor.generate(pair[1])
                pacer.second_done(time.perf_counter() - started)
                return pair[0], result

            last: tuple[int, LiveFrame] | None = None
            for arrival, done in overlapped(prepared(), [generate], depth=1, workers=workers):
                first_arrival = first_arrival or arrival.arrived
                with reenactor.times("encode"):
                    if last is not None:  # dropped frames show the last output frame
                        for _ in range(arrival.index - last[0] - 1):
                            _write(output, last[1])
                    _write(output, done)
                last_written = time.perf_counter()
                latencies.append(last_written - arrival.arrived)
                without_face += not done.face
                last = arrival.index, done
            if reader.error is not None:
                raise reader.error
            with reenactor.times("encode"):
                output.close()
            step_seconds = dict(reenactor.times.seconds)
    finally:
        inbox.close()
        if reader is not None:  # a live input may block it until the caller closes the input
            reader.join(timeout=1.0)
    return LiveReport(len(latencies), last_written - first_arrival, latencies, step_seconds,
                      without_face, inbox.received, inbox.dropped)


def _write(output: ReenactOutput, frame: LiveFrame) -> None:
    assert frame.result is not None
    output.write(frame.result, frame.crop, frame.nmfc, frame.eyes)


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
