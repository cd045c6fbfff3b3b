"""Preview images for a person to check a fit at a glance: a contact sheet of frames with the
fitted face overlaid, and side-by-side frames (frame | NMFC | eyes | overlay) for a short video.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from h2h.core.config import Section
from h2h.face3d.face_model import FaceModel
from h2h.geometry.camera import project
from h2h.media.sheets import GREEN, draw_points

# iBUG-68 outline polylines: (first, last, closed) for jaw, brows, nose, eyes, lips.
LANDMARK_OUTLINES: tuple[tuple[int, int, bool], ...] = (
    (0, 16, False), (17, 21, False), (22, 26, False), (27, 30, False), (31, 35, False),
    (36, 41, True), (42, 47, True), (48, 59, True), (60, 67, True),
)


@dataclass(frozen=True)
class PreviewParams(Section):
    """params.yaml's ``preview`` section."""

    name: ClassVar[str] = "preview"

    frames: int  # length of the side-by-side preview video


def landmarks_68(model: FaceModel, identity: np.ndarray, expression: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """(68, 2) image pixels of the model's 68 landmark vertices under a frame's camera."""
    return project(model.shape(identity, expression)[model.landmarks_68], camera)


def draw_landmarks(image: np.ndarray, points: np.ndarray, colour: tuple[int, int, int] = GREEN) -> np.ndarray:
    """A copy of ``image`` with the 68 points joined as the iBUG outlines (a landmark
    "wireframe"): jaw, brows, nose, eyes, outer and inner lips."""
    out = np.ascontiguousarray(image).copy()
    pts = np.rint(np.asarray(points)).astype(np.int32)
    for first, last, closed in LANDMARK_OUTLINES:
        cv2.polylines(out, [pts[first : last + 1]], closed, colour, 1, cv2.LINE_AA)
    return draw_points(out, pts, colour, radius=1)


def mesh_overlay(frame: np.ndarray, nmfc: np.ndarray, points: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The NMFC blended over the frame where the face is, plus the 68-landmark outlines: a
    misplaced fit shows as colours off the face and outlines off the features."""
    mask = nmfc.any(-1, keepdims=True)
    blend = np.where(mask, (1 - alpha) * frame + alpha * nmfc, frame)
    return draw_landmarks(np.rint(blend).astype(np.uint8), points)


def side_by_side(images: Sequence[np.ndarray]) -> np.ndarray:
    """Images of one height placed left to right."""
    return np.concatenate([np.asarray(im) for im in images], axis=1)
