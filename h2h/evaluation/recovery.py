"""The evaluation's recovery of a video: one procedure for real and generated frames alike.

The paper measures a generated video by reconstructing "the fake and ground truth sequences"
with the same pipeline (Sec. 4.3): here every frame of either goes through

- MediaPipe Face Mesh and the 3DMM fit of the fit stage (paper 3.1): expressions, head rotation
  and per-frame identity (AED, ARD, DAI). The fit's identity pass runs on the video's own frames
  and no gap is filled: a frame without a Face Mesh face is a failed frame.
- dlib on the frame scaled to about 256 px (its HOG detector finds faces of ~80 px and up, and
  the landmark predictors get the detail they were trained with): the largest face's 68
  landmarks and pupils as the landmarks stage finds them (3.3; AELD), and its 5-point shape,
  which aligns the face for the 128-D embedding of FID / MMD^2. No tracking fallback: a frame
  where dlib finds no face is a failed frame. Such a frame still gets an embedding, of the face
  chip at a fixed *fallback* shape (the real frames' average face position), so that a frame
  without a face counts in FID / MMD^2 as what it shows rather than being left out.

The video is cut into chunks of :data:`CHUNK` frames that forked processes analyse in parallel
(:class:`Recoverer`).
Face Mesh tracks within a chunk and starts afresh at the next, the fit's per-frame pass starts
afresh with each chunk too, and torch embeds with one thread everywhere: the result does not
depend on how many processes share the work.
"""

from __future__ import annotations

import ctypes
import math
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import cv2
import dlib
import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from h2h.core.errors import H2HError
from h2h.core.outputs import load_npz, save_npz
from h2h.core.progress import progress
from h2h.evaluation.metrics.dlib_resnet import CHIP_SIZE
from h2h.evaluation.metrics.face_features import embed_chips, face_chip, shape_predictor_5
from h2h.face3d.face_model import FaceModel
from h2h.face3d.facemesh import FaceMeshTracker, stack_points
from h2h.face3d.fit import FitParams, FrameFitter, estimate_identity, fit_video
from h2h.face3d.fit_table import cameras_of, expressions_of, identities_of, make_table
from h2h.geometry.rotations import rotvec_to_euler
from h2h.preprocess.landmarks import N_POINTS, LandmarkDetector

CHUNK = 32  # frames per unit of work; Face Mesh's tracking restarts with each
ANALYSIS_SIDE = 256  # dlib works on frames scaled by a power of two to about this side

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1  # prctl option: a signal for the process when its parent ends (Linux)


def analysis_scale(side: int) -> int:
    """The power of two dlib's steps scale a ``side`` x ``side`` frame by (64 px: 4)."""
    return 2 ** max(0, round(math.log2(ANALYSIS_SIDE / side)))


@dataclass(frozen=True)
class Recovery:
    """What the recovery found in each of a video's N frames."""

    fit: pd.DataFrame  # fit table; ``valid``: Face Mesh found the face (no gap filled)
    landmarks: np.ndarray  # (N, 70, 2) frame pixels, NaN where dlib found no face
    shapes: np.ndarray  # (N, 5, 2) dlib's 5-point alignment shapes, NaN where no face
    embeddings: np.ndarray  # (N, 128) float32 of every frame, failed ones at the fallback shape

    def __len__(self) -> int:
        return len(self.fit)

    @property
    def fitted(self) -> np.ndarray:
        """(N,) frames with a 3D fit."""
        return self.fit["valid"].to_numpy(bool)

    @property
    def faces(self) -> np.ndarray:
        """(N,) frames where dlib found a face (landmarks and an aligned embedding)."""
        return np.isfinite(self.shapes).all(axis=(1, 2))

    @property
    def expressions(self) -> np.ndarray:
        return expressions_of(self.fit)

    @property
    def identities(self) -> np.ndarray:
        return identities_of(self.fit)

    @property
    def euler(self) -> np.ndarray:
        """(N, 3) head rotation as Euler angles in degrees (NaN where not fitted)."""
        return rotvec_to_euler(cameras_of(self.fit)[:, :3])

    @property
    def mean_shape(self) -> np.ndarray:
        """(5, 2) average 5-point shape of the frames with a face: where the face usually is,
        the fallback position of the frames without one."""
        return self.shapes[self.faces].mean(axis=0)

    def save(self, folder: str | Path) -> None:
        """Write ``fit.parquet`` and ``faces.npz`` into ``folder`` (bit-exact round trip)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.fit.to_parquet(folder / "fit.parquet")
        save_npz(folder / "faces.npz", {"landmarks": self.landmarks, "shapes": self.shapes,
                                        "embeddings": self.embeddings})

    @classmethod
    def load(cls, folder: str | Path) -> Recovery:
        folder = Path(folder)
        faces = load_npz(folder / "faces.npz", "recovery not found (run the reference stage)")
        return cls(pd.read_parquet(folder / "fit.parquet"), faces["landmarks"], faces["shapes"],
                   faces["embeddings"])


_MODEL: tuple[FaceModel, FitParams] | None = None  # the fit's model and settings, per process


def _fit_setup() -> tuple[FaceModel, FitParams]:
    assert _MODEL is not None, "recovery steps run inside a Recoverer"
    return _MODEL


@lru_cache(maxsize=1)
def _landmark_detector() -> LandmarkDetector:
    return LandmarkDetector(upsample=0)


def _scaled(frame: np.ndarray, scale: int) -> np.ndarray:
    if scale == 1:
        return np.ascontiguousarray(frame)
    h, w = frame.shape[:2]
    return cv2.resize(frame, (w * scale, h * scale), interpolation=cv2.INTER_LINEAR)


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Embed with one torch thread wherever it runs: the results do not depend on the number
    of processes, and the processes do not compete for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _face_mesh(frames: np.ndarray) -> np.ndarray:
    """(n, 468, 3) Face Mesh points of a chunk's frames (tracking from its first frame), NaN
    where no face was found."""
    with FaceMeshTracker() as mesh:
        return stack_points([mesh(frame) for frame in frames])[0]


def _embed(images: list[np.ndarray], shapes: list[np.ndarray]) -> np.ndarray:
    """(n, 128) embeddings of the faces at ``shapes`` (5, 2) in ``images``."""
    chips = [face_chip(image, shape) for image, shape in zip(images, shapes)]
    with _one_torch_thread():
        return embed_chips(np.asarray(chips).reshape(-1, CHIP_SIZE, CHIP_SIZE, 3))


def _faces(job: tuple[np.ndarray, np.ndarray | None]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dlib on a chunk's frames: (n, 70, 2) landmarks and (n, 5, 2) shapes in frame pixels (NaN
    where no face) and (n, 128) embeddings (NaN where no face and no fallback shape)."""
    frames, fallback = job
    scale = analysis_scale(frames.shape[1])
    n = len(frames)
    landmarks, shapes = np.full((n, N_POINTS, 2), np.nan), np.full((n, 5, 2), np.nan)
    detector, predictor = _landmark_detector(), shape_predictor_5()
    images, aligned, embedded = [], [], []
    for t, frame in enumerate(frames):
        image = _scaled(frame, scale)
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        box = detector.find_face(gray)
        if box is not None:
            landmarks[t] = detector.points_in(gray, box) / scale
            rect = dlib.rectangle(*(int(round(v)) for v in box))
            shape = np.array([(p.x, p.y) for p in predictor(image, rect).parts()], np.float64)
            shapes[t] = shape / scale
        elif fallback is not None:
            shape = fallback * scale
        else:
            continue
        images.append(image)
        aligned.append(shape)
        embedded.append(t)
    embeddings = np.full((n, 128), np.nan, np.float32)
    embeddings[embedded] = _embed(images, aligned)
    return landmarks, shapes, embeddings


def _embed_at(job: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(n, 128) embeddings of frames' faces placed at one 5-point shape (frame pixels)."""
    frames, shape = job
    scale = analysis_scale(frames.shape[1])
    return _embed([_scaled(frame, scale) for frame in frames], [shape * scale] * len(frames))


def _identity(points: np.ndarray) -> np.ndarray | None:
    """Pass 1 of the fit: the video's identity from its own frames (None: no face at all)."""
    model, params = _fit_setup()
    found = np.isfinite(points).all(axis=(1, 2))
    if not found.any():
        return None
    with threadpool_limits(1):
        return estimate_identity(FrameFitter(model, params), points, found)


def _fit(job: tuple[np.ndarray, np.ndarray, int]) -> pd.DataFrame:
    """Pass 2 of the fit on one chunk's Face Mesh points, for the video's identity."""
    points, identity, height = job
    model, params = _fit_setup()
    found = np.isfinite(points).all(axis=(1, 2))
    if not found.any():
        return _unfitted(model, len(points))
    return fit_video(model, points, found, height, params, identity=identity)


def _unfitted(model: FaceModel, n: int) -> pd.DataFrame:
    """The fit table of ``n`` frames without a face."""
    return make_table(np.full((n, 6), np.nan), np.full((n, model.n_identity), np.nan),
                      np.full((n, model.n_expression), np.nan), np.zeros(n, bool))


def _initialise(model: FaceModel, params: FitParams, worker: bool = True) -> None:
    """Give this process the fit's model and settings. A worker process also gets one torch
    thread, leaves Ctrl-C to its parent (which stops the workers) and ends with its parent,
    however the parent ends."""
    global _MODEL
    _MODEL = (model, params)
    if worker:
        torch.set_num_threads(1)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def available_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0))


def _processes(workers: int, setup: tuple[FaceModel, FitParams]) -> ProcessPoolExecutor:
    """``workers`` processes with the fit's model and settings, started now.

    Forked from this process when it has not loaded MediaPipe: they start at once with what it
    has imported (OpenCV's threads are stopped for the fork and start again after it: a child
    cannot shut down threads it did not inherit). A MediaPipe graph in a child forked from a
    process that has run one corrupts the heap; such a process gets its workers from a fork
    server instead, which imports this module once and forks clean processes. A worker that
    dies makes the waiting step raise instead of waiting forever.
    """
    if "mediapipe" in sys.modules:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
    else:
        context = multiprocessing.get_context("fork")
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        executor = ProcessPoolExecutor(workers, context, initializer=_initialise,
                                       initargs=setup)
        executor.submit(int).result()  # the processes start with the first task
    finally:
        cv2.setNumThreads(threads)
    return executor


class Recoverer:
    """:meth:`recover` with one face model and fit settings, by ``workers`` processes (1: in
    this process); the result does not depend on how many. Use as a context manager.

    The processes start when the context is entered (:func:`_processes`); each makes its own
    MediaPipe graph and dlib models and uses one torch thread.
    """

    def __init__(self, model: FaceModel, params: FitParams, workers: int = 1) -> None:
        self.model, self.workers = model, workers
        self.params = replace(params, max_gap=0)  # a frame without a face is a failed frame
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Recoverer:
        _initialise(self.model, self.params, worker=False)
        if self.workers > 1:
            self._pool = _processes(self.workers, (self.model, self.params))
        return self

    def __exit__(self, *exc: object) -> None:
        global _MODEL
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        _MODEL = None

    def _start(self, step: Callable[[Any], T], jobs: Sequence[Any]) -> Callable[[], list[T]]:
        """Queue ``step`` over ``jobs`` on the processes, in order (or run it here); the
        returned function waits for the results."""
        if self._pool is None:
            results = [step(job) for job in progress(jobs, desc=step.__name__.strip("_"),
                                                     total=len(jobs))]
            return lambda: results
        futures = [self._pool.submit(step, job) for job in jobs]
        return lambda: [future.result() for future in futures]

    def recover(self, frames: np.ndarray, fallback_shape: np.ndarray | None = None,
                source: str | Path = "frames") -> Recovery:
        """The recovery of a video (N, H, W, 3) uint8 held in memory (see the module docstring).

        ``fallback_shape`` (5, 2): where frames without a dlib face are embedded; default: the
        video's own average shape (for real frames; a generated video takes its real side's,
        so that both sides put a missing face at the same place). Frames without a face are
        failed frames, not an error; a video without any dlib face and no fallback shape
        raises :class:`H2HError` naming ``source``.

        Order of work: Face Mesh on every chunk, then dlib; while the processes run dlib, this
        one estimates the identity from the Face Mesh points; then the per-frame fits.
        """
        chunks = [frames[i:i + CHUNK] for i in range(0, len(frames), CHUNK)]
        meshes = self._start(_face_mesh, chunks)
        faces = self._start(_faces, [(chunk, fallback_shape) for chunk in chunks])
        points = np.concatenate(meshes())
        identity = _identity(points)
        splits = np.cumsum([len(chunk) for chunk in chunks])[:-1]
        fits = (self._start(_fit, [(part, identity, frames.shape[1])
                                   for part in np.split(points, splits)])
                if identity is not None else lambda: [_unfitted(self.model, len(frames))])
        landmarks, shapes, embeddings = (np.concatenate(part) for part in zip(*faces()))
        missing = np.flatnonzero(np.isnan(embeddings).any(axis=1))
        if len(missing):  # real frames without a face: at their video's average face position
            if len(missing) == len(frames):
                raise H2HError("no face found in any frame", source)
            shape = shapes[np.isfinite(shapes).all(axis=(1, 2))].mean(axis=0)
            jobs = [(frames[missing[i:i + CHUNK]], shape) for i in range(0, len(missing), CHUNK)]
            embeddings[missing] = np.concatenate(self._start(_embed_at, jobs)())
        fit = pd.concat(fits(), ignore_index=True)
        fit["frame"] = np.arange(len(fit))
        return Recovery(fit, landmarks, shapes, embeddings)
