"""Augmentation of the conditioning during training, as the authors' code does it (the paper does
not describe it): every NMFC and eye-sketch image gets a small random affine jitter of its own,
and the eye landmarks get noise before the eye sketch is drawn. G thereby learns to render a
face that does not depend on the exact pixel position of its conditioning, which reenactment
never reproduces exactly (another fit, another person's eyes). Real frames are never changed,
and nothing of this runs at inference or evaluation.

Every random number comes from a generator seeded by (seed, epoch, clip, frame) alone, so a
frame gets the same augmentation in every chunk that reads it (as the frame rendered and as the
context of the next chunk), the same in any data-loader worker, and the same after a resumed run.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from h2h.core.errors import H2HError
from h2h.preprocess.eyes import draw_eyes

#: Outline points of the two eyes in an (14, 2) eye-points array, and their pupils.
_EYES = (np.r_[0:6, 12], np.r_[6:12, 13])


@dataclass(frozen=True)
class Augmentation:
    """params.yaml's ``train.augment`` (the authors' code: shift 0.01, scale 0.01, eye scale
    0.02, eye shift 2 px at 256 px; all zero turns augmentation off).

    jitter_shift: largest translation of a conditioning image, as a fraction of its side.
    jitter_scale: largest relative change of its size (about its centre).
    eye_scale_sd: standard deviation of the relative size of both eyes' outlines and pupils
    (one draw per frame, each eye about its own centre).
    eye_shift_sd: standard deviation of each eye's horizontal shift, in pixels of the frames the
    landmarks were found in (the crop side).
    """

    jitter_shift: float
    jitter_scale: float
    eye_scale_sd: float
    eye_shift_sd: float

    def __post_init__(self) -> None:
        for name in ("jitter_shift", "jitter_scale", "eye_scale_sd", "eye_shift_sd"):
            if getattr(self, name) < 0:
                raise H2HError(f"train.augment.{name} must not be negative: "
                               f"{getattr(self, name)}", "params.yaml")

    @property
    def jitters(self) -> bool:
        return self.jitter_shift > 0 or self.jitter_scale > 0

    @property
    def eye_noise(self) -> bool:
        return self.eye_scale_sd > 0 or self.eye_shift_sd > 0


#: No augmentation (benchmarks, tests of the mechanics).
NO_AUGMENTATION = Augmentation(0.0, 0.0, 0.0, 0.0)


def frame_rng(seed: int, epoch: int, clip: int, frame: int) -> np.random.Generator:
    """The random generator of one frame's augmentation in one epoch."""
    return np.random.default_rng(np.random.SeedSequence([seed % 2**32, epoch, clip, frame]))


def affine(side: int, shift: float, scale: float, rng: np.random.Generator) -> np.ndarray:
    """A random 2x3 affine of a side x side image: scaled by 1 + U(-scale, scale) about its
    centre, then translated by U(-shift, shift) x side in x and in y."""
    s = 1 + rng.uniform(-scale, scale)
    tx, ty = rng.uniform(-shift, shift, 2) * side
    c = (side - 1) / 2
    return np.array([[s, 0, (1 - s) * c + tx], [0, s, (1 - s) * c + ty]])


def jitter(image: np.ndarray, augment: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """``image`` (R, R, C) uint8 under a random affine (:func:`affine`); nearest-neighbour, so
    the NMFC's colour code and the sketch's colours stay exact; uncovered pixels black."""
    side = image.shape[0]
    matrix = affine(side, augment.jitter_shift, augment.jitter_scale, rng)
    return cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def noisy_eye_points(points: np.ndarray, augment: Augmentation,
                     rng: np.random.Generator) -> np.ndarray:
    """(14, 2) eye points with noise: both eyes (outline and pupil) scaled by one factor
    1 + N(0, eye_scale_sd) about their own centres, each shifted by N(0, eye_shift_sd) in x."""
    scale = 1 + rng.normal(0, augment.eye_scale_sd)
    shifts = rng.normal(0, augment.eye_shift_sd, 2)
    out = np.array(points, np.float64)
    for eye, shift in zip(_EYES, shifts):
        centre = out[eye].mean(axis=0)
        out[eye] = (out[eye] - centre) * scale + centre
        out[eye, 0] += shift
    return out


def noisy_eye_sketch(points: np.ndarray, side: int, resolution: int, augment: Augmentation,
                     rng: np.random.Generator) -> np.ndarray:
    """The eye sketch of noisy ``points`` drawn as the eyes stage draws it (side x side), then
    shrunk to the model's resolution as training clips are (INTER_AREA): with zero noise, the
    clip's own sketch."""
    sketch = draw_eyes(noisy_eye_points(points, augment, rng), side, side)
    if side != resolution:
        sketch = cv2.resize(sketch, (resolution, resolution), interpolation=cv2.INTER_AREA)
    return sketch
