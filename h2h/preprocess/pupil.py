"""Pupil position from the six eye landmarks (paper 3.3, Eq. 4).

The pupil is the centroid of the pixels inside the eye polygon, each weighted by its inverse
intensity 1 / I (as the authors' code weights them), i.e. the centre of the dark part of the eye.
No eye model is fitted, which keeps gaze extraction as fast as the landmark detector.

Only the pixels darker than the polygon's mean intensity take part. Over the whole polygon the
sclera and the skin the landmarks enclose outweigh the pupil by their area even at 1 / I (grey
sclera and skin get a third of a dark pupil's weight, on ten times its area), pulling a pupil in
the corner of the eye several pixels towards the eye's centre, which shrinks the gaze's amplitude;
the darker-than-average pixels are the iris and the pupil, whose centre is the gaze
(``tests/preprocess/test_landmarks.py`` measures both on synthetic eyes).
"""

from __future__ import annotations

import cv2
import numpy as np


def pupil_centre(gray: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """Inverse-intensity-weighted centroid of the darker-than-average pixels inside the polygon
    ``eye`` (6, 2) of the uint8 greyscale image ``gray``.

    A polygon of one intensity has no darker pixel: all its pixels count (its centroid). Falls
    back to the mean of the eye landmarks when the polygon contains no pixel (outside the image).
    """
    x0, y0 = np.floor(eye.min(axis=0)).astype(int)
    x1, y1 = np.ceil(eye.max(axis=0)).astype(int) + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, gray.shape[1]), min(y1, gray.shape[0])
    if x1 <= x0 or y1 <= y0:
        return eye.mean(axis=0)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    polygon = np.round(eye - (x0, y0)).astype(np.int32)
    cv2.fillPoly(mask, [polygon], 1)
    inside = mask.astype(bool)
    if not inside.any():
        return eye.mean(axis=0)
    patch = gray[y0:y1, x0:x1]
    darker = inside & (patch < patch[inside].mean())
    # 1 / I with black counted as 1 (the authors' code gives black pixels weight 0).
    weights = (darker if darker.any() else inside) / np.maximum(patch.astype(np.float64), 1.0)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    total = weights.sum()
    return np.array([(weights * xs).sum() / total, (weights * ys).sum() / total])
