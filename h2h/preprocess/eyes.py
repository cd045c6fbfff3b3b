"""Eye sketch images (paper 3.3): white eye outlines and red pupil discs on black.

Input is the landmarks table (70 points per frame in crop pixels: dlib's 68 plus the pupils of
the eyes of points 36-41 and 42-47 as points 68 and 69). Drawing is aliased (cv2.LINE_8) so
every pixel is exactly black, white or red, which keeps the images crisp and exactly
reproducible through a lossless codec.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pandas as pd

# The 14 landmarks an eye sketch uses: eye of points 36-41, eye of 42-47, pupil 68, pupil 69.
EYE_POINTS: tuple[int, ...] = tuple(range(36, 48)) + (68, 69)
WHITE = (255, 255, 255)
RED = (255, 0, 0)
# Pupil disc radius as a fraction of the eye's width (corner to corner). The iris is ~11.7 mm
# across and the eye opening ~30 mm wide, so 0.2 of the width draws about the iris.
PUPIL_RADIUS_FRACTION = 0.2


def eye_points(landmarks: pd.DataFrame) -> np.ndarray:
    """(N, 14, 2) float32 :data:`EYE_POINTS` of a landmarks table; NaN on invalid rows."""
    xs = landmarks[[f"x{i}" for i in EYE_POINTS]].to_numpy(np.float32)
    ys = landmarks[[f"y{i}" for i in EYE_POINTS]].to_numpy(np.float32)
    pts = np.stack([xs, ys], -1)
    pts[~landmarks["valid"].to_numpy(bool)] = np.nan
    return pts


def pupil_radius(eye: np.ndarray) -> int:
    """Disc radius in pixels for one eye's 6 outline points (corners first and fourth)."""
    width = float(np.linalg.norm(eye[3] - eye[0]))
    return max(1, int(round(PUPIL_RADIUS_FRACTION * width)))


def draw_eyes(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """One eye sketch from (14, 2) :data:`EYE_POINTS` coordinates -> (H, W, 3) uint8 RGB.
    Outlines first, then the pupils over them (the paper's order). Any NaN: black image."""
    image = np.zeros((height, width, 3), np.uint8)
    pts = np.asarray(points, np.float64)
    if not np.isfinite(pts).all():
        return image
    eyes = (pts[0:6], pts[6:12])
    for eye in eyes:
        cv2.polylines(image, [np.rint(eye).astype(np.int32)], True, WHITE, 1, cv2.LINE_8)
    for eye, pupil in zip(eyes, pts[12:14]):
        centre = tuple(int(c) for c in np.rint(pupil))
        cv2.circle(image, centre, pupil_radius(eye), RED, -1, cv2.LINE_8)
    return image


def render_eyes(points: np.ndarray, height: int, width: int) -> Iterator[np.ndarray]:
    """Eye sketches for (N, 14, 2) points (from :func:`eye_points` or conditioning)."""
    for p in points:
        yield draw_eyes(p, height, width)
