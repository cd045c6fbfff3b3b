"""MediaPipe Face Mesh over a video: 468 landmarks per frame in the fit's camera frame.

MediaPipe gives x, y normalised to the image and z on x's scale (smaller = closer). The fit
wants a right-handed frame with +y up and +z toward the camera, in pixels:
``u = x * W``, ``v = H - y * H``, ``w = -z * W`` (flipping y alone would be a reflection).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from h2h.core.progress import progress
from h2h.face3d.face_model import N_MEDIAPIPE


class FaceMeshTracker:
    """MediaPipe Face Mesh in tracking mode, one RGB uint8 frame at a time (one face).

    Tracking mode (``static_image_mode=False``) reuses the previous frame's face box, which is
    both faster (~2 ms/frame) and steadier than detecting in every frame;
    ``refine_landmarks=True`` runs the iris model, which also refines the eye and lip points.
    Use as a context manager (it holds MediaPipe's graph).
    """

    def __init__(self, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        import mediapipe as mp  # imported here: loading mediapipe costs ~1 s

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """(468, 3) float32 points as (u, v, w) (see the module docstring), or None."""
        h, w = frame.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(frame))
        if not result.multi_face_landmarks:
            return None
        lm = result.multi_face_landmarks[0].landmark
        xyz = np.array([(p.x, p.y, p.z) for p in lm[:N_MEDIAPIPE]], np.float32)
        return np.stack([xyz[:, 0] * w, h - xyz[:, 1] * h, -xyz[:, 2] * w], 1)

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> FaceMeshTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def detect_face_mesh(
    frames: Iterable[np.ndarray],
    total: int | None = None,
    min_detection_confidence: float = 0.5,
    min_tracking_confidence: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Run :class:`FaceMeshTracker` over the frames of one video.

    Returns ``points`` (N, 468, 3) float32 as (u, v, w) above, NaN where no face was found, and
    ``found`` (N,) bool.
    """
    with FaceMeshTracker(min_detection_confidence, min_tracking_confidence) as mesh:
        return stack_points([mesh(frame) for frame in progress(frames, desc="face mesh",
                                                                total=total)])


def stack_points(results: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame :class:`FaceMeshTracker` results (None: no face) as ``points`` (N, 468, 3),
    NaN where no face was found, and ``found`` (N,)."""
    if not results:
        return np.zeros((0, N_MEDIAPIPE, 3), np.float32), np.zeros(0, bool)
    nan = np.full((N_MEDIAPIPE, 3), np.nan, np.float32)
    return (np.stack([nan if result is None else result for result in results]),
            np.array([result is not None for result in results]))
