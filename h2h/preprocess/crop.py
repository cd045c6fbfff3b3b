"""One fixed square face box per video, and the crops cut with it (paper 4.1).

The paper crops every frame with the same box (the average of per-frame detections) so that the
background stays still and the network only has to model the head. Detection runs every few
frames; the sampled boxes are interpolated to every frame and smoothed with a Savitzky-Golay
filter; a video whose head wanders too far for one box is rejected rather than cropped badly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pandas as pd
from scipy.signal import savgol_filter

from h2h.core.config import Section
from h2h.core.errors import H2HError
from h2h.core.progress import progress
from h2h.media.sheets import draw_box, fit_square, sample_indices
from h2h.media.video import VideoWriter, iter_frames
from h2h.preprocess.detect import Detector, largest_box, make_detector


@dataclass(frozen=True)
class CropParams(Section):
    """params.yaml's ``crop`` section (paper 4.1)."""

    name: ClassVar[str] = "crop"

    detector: str
    detect_every: int
    detect_max_side: int
    smooth_window: int
    smooth_order: int
    box: str  # "median" or "mean" of the smoothed per-frame boxes
    margin: float  # added on each side, as a fraction of the face box size
    shift_y: float  # vertical shift of the box centre, as a fraction of the face size (+ = down)
    max_motion: float  # largest allowed distance of the face centre from its median / frame side
    min_detected: float  # smallest fraction of sampled frames with a face
    size: int  # side of the output crops
    test_fraction: float  # last part of the video kept for testing


@dataclass(frozen=True)
class CropBox:
    """A square region of the source frame: top-left corner and side, in pixels."""

    x0: int
    y0: int
    side: int

    @property
    def corners(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1)."""
        return self.x0, self.y0, self.x0 + self.side, self.y0 + self.side

    def cut(self, frame: np.ndarray, size: int) -> np.ndarray:
        """The region resized to ``size`` x ``size``."""
        region = frame[self.y0:self.y0 + self.side, self.x0:self.x0 + self.side]
        interpolation = cv2.INTER_AREA if self.side > size else cv2.INTER_CUBIC
        return cv2.resize(region, (size, size), interpolation=interpolation)


def detect_sampled(frames: Iterable[np.ndarray], detector: Detector, every: int) -> pd.DataFrame:
    """Run ``detector`` on every ``every``-th frame; one row per sampled frame.

    Columns: frame, detected, x0, y0, x1, y1 (NaN where no face was found). The largest face wins.
    """
    rows = []
    for index, frame in enumerate(frames):
        if index % every:
            continue
        box = largest_box(detector(frame))
        rows.append((index, box is not None, *(box if box is not None else [np.nan] * 4)))
    return pd.DataFrame(rows, columns=["frame", "detected", "x0", "y0", "x1", "y1"])


def smooth_track(sampled: pd.DataFrame, n_frames: int, window: int, order: int) -> pd.DataFrame:
    """Face centre and size for every frame: interpolated between detections, then smoothed.

    Returns columns frame, cx, cy, size (size = mean of box width and height).
    """
    hits = sampled[sampled["detected"]]
    frames = np.arange(n_frames)
    centre_x = (hits["x0"] + hits["x1"]) / 2
    centre_y = (hits["y0"] + hits["y1"]) / 2
    size = ((hits["x1"] - hits["x0"]) + (hits["y1"] - hits["y0"])) / 2
    track = {name: np.interp(frames, hits["frame"], values)
             for name, values in (("cx", centre_x), ("cy", centre_y), ("size", size))}
    window = min(window, n_frames if n_frames % 2 else n_frames - 1)
    if window > order and window >= 3:
        track = {name: savgol_filter(values, window, order, mode="interp")
                 for name, values in track.items()}
    return pd.DataFrame({"frame": frames, **track})


def head_motion(track: pd.DataFrame, frame_width: int, frame_height: int) -> float:
    """Largest distance of the face centre from its median position, as a fraction of the frame."""
    dx = track["cx"] - track["cx"].median()
    dy = track["cy"] - track["cy"].median()
    return float(np.hypot(dx, dy).max() / min(frame_width, frame_height))


def box_around(cx: float, cy: float, face: float, frame_width: int, frame_height: int,
               params: CropParams) -> CropBox:
    """The square crop box for a face of size ``face`` centred at (cx, cy): enlarged by the
    margin, shifted by ``shift_y`` and kept inside the frame."""
    cy = cy + params.shift_y * face
    side = min(round(face * (1 + 2 * params.margin)), frame_width, frame_height)
    x0 = int(np.clip(round(cx - side / 2), 0, frame_width - side))
    y0 = int(np.clip(round(cy - side / 2), 0, frame_height - side))
    return CropBox(x0, y0, side)


def fixed_box(track: pd.DataFrame, frame_width: int, frame_height: int,
              params: CropParams) -> CropBox:
    """The one square box for the whole video, enlarged by the margin and kept inside the frame."""
    reduce = np.median if params.box == "median" else np.mean
    return box_around(float(reduce(track["cx"])), float(reduce(track["cy"])),
                      float(reduce(track["size"])), frame_width, frame_height, params)


def find_crop_box(sampled: pd.DataFrame, n_frames: int, frame_width: int, frame_height: int,
                  params: CropParams, source: str | Path) -> tuple[CropBox, pd.DataFrame, float]:
    """Check the detections and derive the box; returns (box, smoothed track, head motion).

    Raises :class:`H2HError` when no face is found, faces are found too rarely, or the head moves
    more than ``max_motion`` of the frame.
    """
    detected = int(sampled["detected"].sum())
    if detected == 0:
        raise H2HError(f"no face found in any of the {len(sampled)} sampled frames", source)
    rate = detected / len(sampled)
    if rate < params.min_detected:
        raise H2HError(f"a face was found in only {rate:.0%} of the sampled frames "
                       f"(minimum {params.min_detected:.0%})", source)
    track = smooth_track(sampled, n_frames, params.smooth_window, params.smooth_order)
    motion = head_motion(track, frame_width, frame_height)
    if motion > params.max_motion:
        raise H2HError(f"the head moves {motion:.2f} of the frame, more than max_motion "
                       f"{params.max_motion:.2f} allows for one fixed crop box", source)
    return fixed_box(track, frame_width, frame_height, params), track, motion


def face_of(box: np.ndarray) -> np.ndarray:
    """(cx, cy, size) of a detector box (x0, y0, x1, y1); size = mean of width and height."""
    x0, y0, x1, y1 = box
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, ((x1 - x0) + (y1 - y0)) / 2])


class BoxTracker:
    """The crop box of a live stream, found as frames arrive (no look-ahead).

    The face detector runs on every frame until it first finds a face, then on every
    ``detect_every``-th frame. The detected face centre and size are smoothed with an
    exponential moving average whose time constant is ``smooth_window`` frames (the causal
    counterpart of the crop stage's Savitzky-Golay window). The box stays fixed, like the crop
    stage's, while the smoothed face stays inside it and its size within ``resize_tolerance``
    of the size the box was made for; otherwise a new box is made around the smoothed face.
    """

    def __init__(self, params: CropParams, frame_width: int, frame_height: int,
                 detector: Detector | None = None, resize_tolerance: float = 0.25) -> None:
        self.params = params
        self.frame_width, self.frame_height = frame_width, frame_height
        self.detector = detector or make_detector(params.detector, params.detect_max_side)
        self.resize_tolerance = resize_tolerance
        self.box: CropBox | None = None
        self.moves = 0  # boxes made after the first one
        self._alpha = min(1.0, params.detect_every / max(params.smooth_window, 1))
        self._face: np.ndarray | None = None  # smoothed (cx, cy, size)
        self._box_face_size = 0.0
        self._index = 0

    def update(self, frame: np.ndarray) -> CropBox | None:
        """The box for ``frame`` (None until a face has been found)."""
        index = self._index
        self._index += 1
        if self.box is not None and index % self.params.detect_every:
            return self.box
        found = largest_box(self.detector(frame))
        if found is None:
            return self.box
        face = face_of(found)
        self._face = face if self._face is None else self._face + self._alpha * (face - self._face)
        if self.box is None or not self._holds(self._face):
            self.moves += self.box is not None
            self.box = box_around(*self._face, self.frame_width, self.frame_height, self.params)
            self._box_face_size = float(self._face[2])
        return self.box

    def _holds(self, face: np.ndarray) -> bool:
        assert self.box is not None
        cx, cy, size = face
        x0, y0, x1, y1 = self.box.corners
        inside = (x0 <= cx - size / 2 and cx + size / 2 <= x1
                  and y0 <= cy - size / 2 and cy + size / 2 <= y1)
        return inside and abs(size / self._box_face_size - 1) <= self.resize_tolerance


def split_ranges(n_frames: int, test_fraction: float) -> dict[str, list[int]]:
    """Train / test split as half-open frame ranges: the last ``test_fraction`` is the test part."""
    n_test = int(round(n_frames * test_fraction))
    return {"train": [0, n_frames - n_test], "test": [n_frames - n_test, n_frames]}


@dataclass
class CropResult:
    """What cropping one video found: the box, the detections and a few frames to show."""

    box: CropBox
    sampled: pd.DataFrame  # one row per frame the detector ran on
    track: pd.DataFrame  # smoothed face centre and size per frame
    motion: float
    previews: list[np.ndarray] = field(default_factory=list)  # source frame with box, crops

    @property
    def missed(self) -> int:
        return int((~self.sampled["detected"]).sum())


def crop_video(path: str | Path, n_frames: int, fps: float, frame_width: int, frame_height: int,
               params: CropParams, out_video: str | Path, n_previews: int = 7) -> CropResult:
    """Detect, fix the box and write the first ``n_frames`` frames of ``path`` cropped.

    Two decoding passes (detection, then cropping) keep memory flat for long videos.
    """
    detector = make_detector(params.detector, params.detect_max_side)
    frames = progress(iter_frames(path, count=n_frames), "detect", n_frames)
    sampled = detect_sampled(frames, detector, params.detect_every)
    box, track, motion = find_crop_box(sampled, n_frames, frame_width, frame_height, params, path)
    result = CropResult(box, sampled, track, motion)
    shown = set(sample_indices(n_frames, n_previews))
    with VideoWriter(out_video, fps, mode="quality") as writer:
        frames = progress(iter_frames(path, count=n_frames), "crop", n_frames)
        for index, frame in enumerate(frames):
            crop = box.cut(frame, params.size)
            writer.write(crop)
            if index == 0:
                result.previews.insert(0, fit_square(draw_box(frame, box.corners), params.size))
            if index in shown:
                result.previews.append(crop)
    return result
