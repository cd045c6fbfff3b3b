"""Pupil position from the six eye landmarks (paper 3.3, Eq. 4).

The pupil is the centroid of the pixels inside the eye polygon, each weighted by its inverse
intensity, i.e. the centre of the dark part of the eye. No eye model is fitted, which keeps gaze
extraction as fast as the landmark detector.
"""

from __future__ import annotations

import cv2
import numpy as np


def pupil_centre(gray: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """Inverse-intensity-weighted centroid of the pixels inside the polygon ``eye`` (6, 2).

    ``gray`` is a uint8 greyscale image. Falls back to the mean of the eye landmarks when the
    polygon contains no pixel (a closed eye) or only white pixels.
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
    weights = (255.0 - gray[y0:y1, x0:x1]) * mask
    total = weights.sum()
    if total <= 0:
        return eye.mean(axis=0)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    return np.array([(weights * xs).sum() / total, (weights * ys).sum() / total])
