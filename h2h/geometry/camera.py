"""The scaled-orthographic camera of the fit tables and its projection to image pixels.

A frame's camera is six numbers, as in the paper (3.1): a rotation vector ``rot_x, rot_y, rot_z``
(radians, model -> camera frame, see :mod:`h2h.geometry.rotations`), a 2-D translation ``tx, ty`` and a
scale ``scale`` (pixels per model unit, i.e. per cm for ICT). A model point X projects to

    u = scale * (R X)_x + tx,        v = ty - scale * (R X)_y

in image pixels with u to the right and v DOWN, like the crop image (pixel (col, row) has its
centre at (col, row), as in OpenCV and dlib). So ``(tx, ty)`` is where the model origin lands in
the image, and ``scale * (R X)_z`` is the depth toward the camera (larger = closer).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from h2h.geometry.rotations import rotvec_to_matrix


def to_image_space(vertices: np.ndarray, camera: Sequence[float]) -> np.ndarray:
    """(V, 3) model points -> (V, 3) of (u, v, depth): image pixels (v down) and depth toward
    the camera in pixels. Rendering needs the depth, projection drops it."""
    rx, ry, rz, tx, ty, scale = (float(c) for c in camera)
    rotated = np.asarray(vertices, dtype=np.float64) @ rotvec_to_matrix([rx, ry, rz]).T
    out = scale * rotated
    out[:, 0] += tx
    out[:, 1] = ty - out[:, 1]
    return out


def project(vertices: np.ndarray, camera: Sequence[float]) -> np.ndarray:
    """(V, 3) model points -> (V, 2) image pixels (u right, v down) under a frame's camera."""
    return to_image_space(vertices, camera)[:, :2]


def frontal_camera(vertices: np.ndarray, size: int, fill: float = 0.8) -> np.ndarray:
    """A camera (6,) showing ``vertices`` from the front, centred, filling ``fill`` of a square
    ``size`` image: for pictures of a model without a video (e.g. the mean face's NMFC)."""
    low, high = vertices[:, :2].min(axis=0), vertices[:, :2].max(axis=0)
    scale = fill * size / float((high - low).max())
    centre = (low + high) / 2
    half = (size - 1) / 2
    return np.array([0, 0, 0, half - scale * centre[0], half + scale * centre[1], scale])
