"""The per-frame 3D recovery of a video as one chain (paper 3.1-3.3): MediaPipe Face Mesh, the
fit of camera, expression and the frame's own identity for a known video identity, the NMFC
image and the eye sketch, each step in a thread of its own (:func:`h2h.core.overlap.overlapped`).

The video's identity comes first (the fit's pass 1, :func:`h2h.face3d.fit.estimate_identity`, or
a target's average identity); the chain is the per-frame work after it, which is what
``h2h bench recovery`` times. It has no look-ahead: a frame without a face gets black images,
where the stages, which see the whole video, interpolate short gaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from h2h.core.overlap import overlapped
from h2h.face3d.face_model import FaceModel
from h2h.face3d.facemesh import FaceMeshTracker
from h2h.face3d.fit import FitParams, FrameFit, FrameFitter
from h2h.face3d.nmfc import NMFCRenderer
from h2h.geometry.camera import project
from h2h.preprocess.eyes import draw_eyes

#: The model's landmarks of the two eyes (iBUG 36-41 and 42-47), whose centres are the pupils.
_EYES = slice(36, 48)


@dataclass(frozen=True)
class RecoveredFrame:
    """One frame's recovery: its fit (None without a face), NMFC image and eye sketch."""

    fit: FrameFit | None
    nmfc: np.ndarray
    eyes: np.ndarray


class _EyePoints:
    """The 14 eye points of a fitted frame from the model's eye landmarks: the 12 outline
    vertices projected, and each eye's centre as its pupil."""

    def __init__(self, model: FaceModel) -> None:
        index = model.landmarks_68[_EYES]
        self.mean = model.mean[index].astype(np.float64)
        self.identity_basis = model.identity_basis[:, index]
        self.expression_basis = model.expression_basis[:, index]

    def __call__(self, fit: FrameFit) -> np.ndarray:
        shape = (self.mean + np.tensordot(fit.identity, self.identity_basis, 1)
                 + np.tensordot(fit.expression, self.expression_basis, 1))
        outline = project(shape, fit.camera)
        return np.vstack([outline, outline[:6].mean(0), outline[6:].mean(0)])


def recover_frames(frames: Iterable[np.ndarray], model: FaceModel, params: FitParams,
                   identity: np.ndarray, workers: bool = True) -> Iterator[RecoveredFrame]:
    """:class:`RecoveredFrame` of every RGB frame (square, the crops' size), in order. The
    fit uses the video's ``identity``; the NMFC image renders the fitted camera and
    expression on it, as the nmfc stage renders a video's average identity. ``workers=False``:
    the same steps one after the other in this thread (the same results)."""
    fitter = FrameFitter(model, params)
    eye_points = _EyePoints(model)
    identity = np.asarray(identity, np.float64)
    previous: list[np.ndarray | None] = [None]
    size = 0

    def fit(points: np.ndarray | None) -> FrameFit | None:
        if points is None:
            return None
        result = fitter.fit_frame(points, identity, size, previous[0])
        previous[0] = result.fitted_expression
        return result

    with FaceMeshTracker() as mesh:
        first = next(iter_frames := iter(frames), None)
        if first is None:
            return
        size = first.shape[0]
        black = np.zeros((size, size, 3), np.uint8)
        with NMFCRenderer(model, size, size) as renderer:
            neutral = renderer.neutral_shape(identity)

            def render(result: FrameFit | None) -> tuple[FrameFit | None, np.ndarray]:
                if result is None:
                    return None, black
                return result, renderer.render_expression(neutral, result.expression,
                                                          result.camera)

            def sketch(item: tuple[FrameFit | None, np.ndarray]) -> RecoveredFrame:
                result, nmfc = item
                eyes = black if result is None else draw_eyes(eye_points(result), size, size)
                return RecoveredFrame(result, nmfc, eyes)

            steps: list[Any] = [mesh, fit, render, sketch]
            # One BLAS thread, as the fit stage (threads would change the solves' rounding).
            with threadpool_limits(1):
                yield from overlapped(_chain(first, iter_frames), steps, workers=workers)


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest
