"""The crop, landmarks and fit stages' work on a raw video, in process, for ``h2h reenact`` and
the benchmarks (paper 3.1, 3.3, 4.1).

Two passes over the video, as the crop stage makes them. The first decodes every frame and runs
the face detector on every ``detect_every``-th one, which fixes the video's one crop box (and
counts the frames: the video is not decoded a third time just to count them). The second decodes
again and runs three steps per frame, overlapped on the cores by
:func:`h2h.core.overlap.overlapped`: decoding and cutting the crop, dlib's landmarks and pupils,
and MediaPipe's Face Mesh. The crops go from step to step in memory; unlike the stages' files
they are not encoded and decoded in between, and they are written (H.264 4:4:4, as the crop
stage writes them) only when a caller asks for them. Then the fit's two passes over the Face
Mesh points: the identity from frames spread over the whole video, then every frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from h2h.core.overlap import StepTimes, overlapped
from h2h.core.progress import progress
from h2h.face3d.face_model import FaceModel
from h2h.face3d.facemesh import FaceMeshTracker, stack_points
from h2h.face3d.fit import FitParams, check_coverage, fit_video
from h2h.media.video import VideoWriter, iter_frames, probe_header
from h2h.preprocess.crop import CropBox, CropParams, detect_sampled, find_crop_box
from h2h.preprocess.detect import make_detector
from h2h.preprocess.landmarks import (
    LandmarkDetector,
    LandmarksParams,
    LandmarkTrack,
    detections,
    finish_track,
)

#: The steps whose speed ``h2h reenact`` and ``h2h bench reenact`` report, in pipeline order.
STEPS: tuple[str, ...] = ("crop", "landmarks", "facemesh+fit", "conditioning+render",
                          "generator", "encode")


@dataclass(frozen=True)
class Recovery:
    """What the recovery of a raw video found."""

    frames: int
    fps: float
    size: int  # the crops' side
    track: LandmarkTrack  # landmarks and pupils of every frame, short gaps filled
    fit: pd.DataFrame  # the fit table of every frame


def find_box(video: str | Path, width: int, height: int, max_frames: int,
             params: CropParams) -> tuple[CropBox, int]:
    """The crop stage's first pass over the first ``max_frames`` frames (0: all): the video's
    crop box and its frame count. Raises :class:`h2h.core.errors.H2HError` naming ``video``
    when the detections do not allow one box (no face, too few, too much motion)."""
    detector = make_detector(params.detector, params.detect_max_side)
    count = 0

    def counted() -> Iterator[np.ndarray]:
        nonlocal count
        for frame in iter_frames(video, count=max_frames or None):
            count += 1
            yield frame

    sampled = detect_sampled(progress(counted(), "detect"), detector, params.detect_every)
    box, _, _ = find_crop_box(sampled, count, width, height, params, video)
    return box, count


def recover_video(video: str | Path, params: Mapping[str, Any], model: FaceModel,
                  max_frames: int = 0, crops: Path | None = None, times: StepTimes | None = None,
                  workers: bool = True) -> Recovery:
    """Crop, landmarks and fit of the first ``max_frames`` frames (0: all) of a raw video with
    the stages' parameters ``params`` (see the module docstring). ``crops``: also write the
    crops there. ``times`` collects each step's busy time (:data:`STEPS`); ``workers=False``
    runs the per-frame steps one after the other (the same results). Raises
    :class:`h2h.core.errors.H2HError` naming ``video`` when it is missing or unreadable, has
    no face, or too few frames with landmarks or a fit."""
    times = times or StepTimes()
    crop_params = CropParams.from_params(params)
    landmark_params = LandmarksParams.from_params(params)
    fit_params = FitParams.from_params(params)
    width, height, fps = probe_header(video)
    with times("crop"):
        box, n = find_box(video, width, height, max_frames, crop_params)
    size = crop_params.size

    def cut() -> Iterator[np.ndarray]:
        for frame in times.timed(iter_frames(video, count=n), "crop"):
            with times("crop"):
                crop = box.cut(frame, size)
            yield crop

    landmarks = LandmarkDetector(landmark_params.upsample)

    def find_landmarks(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        with times("landmarks"):
            return crop, landmarks(crop)

    found_landmarks: list[np.ndarray | None] = []
    found_points: list[np.ndarray | None] = []
    writer = VideoWriter(crops, fps, mode="quality") if crops is not None else None
    with FaceMeshTracker() as mesh:

        def find_mesh(item: tuple[np.ndarray, np.ndarray | None]) -> tuple[Any, ...]:
            with times("facemesh+fit"):
                return (*item, mesh(item[0]))

        chain = overlapped(cut(), [find_landmarks, find_mesh], workers=workers)
        try:
            for crop, points, mesh_points in progress(chain, "recover", n):
                found_landmarks.append(points)
                found_points.append(mesh_points)
                if writer is not None:
                    with times("crop"):
                        writer.write(crop)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
    if writer is not None:
        with times("crop"):
            writer.close()
    track = finish_track(detections(found_landmarks), landmark_params, video)
    with times("facemesh+fit"):
        points, found = stack_points(found_points)
        table = fit_video(model, points, found, size, fit_params)
        check_coverage(table, fit_params.min_valid, video)
    return Recovery(n, fps, size, track, table)
