"""68 facial landmarks (dlib) plus two pupils per cropped frame, stored as a per-frame table.

Point order: 0..67 are dlib's iBUG-68 points; 68 is the pupil of the eye of points 36-41 and 69
the pupil of the eye of points 42-47. Frames where no face is found are first retried with the
previous frame's face box (a tracking fallback), then short gaps are interpolated and flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pandas as pd

from h2h.core.config import Section
from h2h.core.errors import H2HError
from h2h.core.gaps import FilledSeries, fill_short_gaps
from h2h.core.progress import progress
from h2h.preprocess.detect import largest_box
from h2h.preprocess.dlib_models import LANDMARKS_68, dlib_model_path
from h2h.preprocess.pupil import pupil_centre

N_POINTS = 70
EYES = (slice(36, 42), slice(42, 48))
X_COLUMNS = [f"x{i}" for i in range(N_POINTS)]
Y_COLUMNS = [f"y{i}" for i in range(N_POINTS)]


class LandmarkDetector:
    """dlib HOG face detection + the 68-point shape predictor + Eq. 4 pupils, frame by frame."""

    def __init__(self, upsample: int) -> None:
        import dlib

        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(
            str(dlib_model_path(LANDMARKS_68)))
        self._upsample = upsample
        self._previous_box: np.ndarray | None = None

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """The (70, 2) points of the largest face in an RGB frame, or None."""
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        box = self.find_face(gray)
        if box is None:
            box = self._previous_box
        if box is None:
            return None
        points = self.points_in(gray, box)
        self._previous_box = np.concatenate([points[:68].min(axis=0), points[:68].max(axis=0)])
        return points

    def find_face(self, gray: np.ndarray) -> np.ndarray | None:
        """The box (x0, y0, x1, y1) of the largest face dlib's HOG detector finds, or None."""
        rects = self._detector(gray, self._upsample)
        boxes = np.array([(r.left(), r.top(), r.right(), r.bottom()) for r in rects], float)
        return largest_box(boxes.reshape(-1, 4))

    def points_in(self, gray: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The (70, 2) points of the face in ``box``: the 68 landmarks, then the pupils."""
        rect = self._dlib.rectangle(*(int(round(v)) for v in box))
        points = np.array([(p.x, p.y) for p in self._predictor(gray, rect).parts()], np.float64)
        pupils = [pupil_centre(gray, points[eye]) for eye in EYES]
        return np.vstack([points, pupils])


def detect_landmarks(frames: Iterable[np.ndarray], detector: LandmarkDetector) -> FilledSeries:
    """Landmarks of every frame, unfilled: (N, 70, 2) with NaN where no face was found."""
    return detections([detector(frame) for frame in frames])


def detections(results: list[np.ndarray | None]) -> FilledSeries:
    """Per-frame :class:`LandmarkDetector` results (None: no face) as one unfilled series."""
    found = np.array([result is not None for result in results], bool)
    missing = np.full((N_POINTS, 2), np.nan)
    points = np.array([missing if result is None else result for result in results])
    return FilledSeries(points.reshape(len(results), N_POINTS, 2), found,
                        np.zeros_like(found))


@dataclass(frozen=True)
class LandmarksParams(Section):
    """params.yaml's ``landmarks`` section (paper 3.3)."""

    name: ClassVar[str] = "landmarks"

    upsample: int  # dlib HOG upsampling
    max_gap: int  # longest run of missed frames that is interpolated
    min_valid: float  # smallest acceptable fraction of frames with landmarks


@dataclass(frozen=True)
class LandmarkTrack:
    found: np.ndarray  # (N,) bool: detected in the frame itself
    series: FilledSeries  # (N, 70, 2) after filling short gaps


def track_landmarks(frames: Iterable[np.ndarray], params: LandmarksParams,
                    source: str | Path) -> LandmarkTrack:
    """Landmarks and pupils of every frame with short gaps filled (``frames``: an array, a list
    or a stream of frames, e.g. :func:`h2h.media.video.iter_frames`).

    Raises :class:`H2HError` naming ``source`` when fewer than ``min_valid`` of the frames end up
    with landmarks (the face is lost for long stretches).
    """
    total = len(frames) if isinstance(frames, Sized) else None
    detected = detect_landmarks(progress(frames, "landmarks", total),
                                LandmarkDetector(params.upsample))
    return finish_track(detected, params, source)


def finish_track(detected: FilledSeries, params: LandmarksParams,
                 source: str | Path) -> LandmarkTrack:
    """The track of :func:`track_landmarks` from the per-frame detections (as
    :func:`detect_landmarks` returns them): short gaps filled, coverage checked."""
    series = fill_short_gaps(detected.values, detected.valid, params.max_gap)
    valid_rate = float(series.valid.mean())
    if valid_rate < params.min_valid:
        raise H2HError(f"landmarks found on only {valid_rate:.0%} of the frames (minimum "
                       f"{params.min_valid:.0%}): the face is lost for long stretches", source)
    return LandmarkTrack(detected.valid, series)


def to_table(series: FilledSeries) -> pd.DataFrame:
    """The Parquet layout: frame, x0..x69, y0..y69 (float32), valid, interpolated."""
    points = series.values.astype(np.float32)
    table = pd.DataFrame(np.concatenate([points[:, :, 0], points[:, :, 1]], axis=1),
                         columns=X_COLUMNS + Y_COLUMNS)
    table.insert(0, "frame", np.arange(len(points)))
    table["valid"] = series.valid
    table["interpolated"] = series.interpolated
    return table


def points_array(table: pd.DataFrame) -> np.ndarray:
    """(N, 70, 2) float array of a landmarks table."""
    return np.stack([table[X_COLUMNS].to_numpy(), table[Y_COLUMNS].to_numpy()], axis=-1)


def read_landmarks(path: str | Path) -> pd.DataFrame:
    """Load a landmarks table written by the landmarks stage."""
    path = Path(path)
    if not path.is_file():
        raise H2HError("landmarks table not found: run the landmarks stage first", path)
    return pd.read_parquet(path)
