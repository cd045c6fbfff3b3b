"""MediaPipe Face Mesh over a video: 468 landmarks per frame in the fit's camera frame.

MediaPipe gives x, y normalised to the image and z on x's scale (smaller = closer). The fit
wants a right-handed frame with +y up and +z toward the camera, in pixels:
``u = x * W``, ``v = H - y * H``, ``w = -z * W`` (flipping y alone would be a reflection).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from h2h.face_model import N_MEDIAPIPE
from h2h.progress import progress


def detect_face_mesh(
    frames: Iterable[np.ndarray],
    total: int | None = None,
    min_detection_confidence: float = 0.5,
    min_tracking_confidence: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Run Face Mesh in tracking mode on RGB uint8 frames (one video, one face).

    Returns ``points`` (N, 468, 3) float32 as (u, v, w) above, NaN where no face was found, and
    ``found`` (N,) bool. Tracking mode (``static_image_mode=False``) reuses the previous frame's
    face box, which is both faster (~2 ms/frame) and steadier than detecting in every frame;
    ``refine_landmarks=True`` runs the iris model, which also refines the eye and lip points.
    """
    import mediapipe as mp  # imported here: loading mediapipe costs ~1 s

    points: list[np.ndarray] = []
    found: list[bool] = []
    nan = np.full((N_MEDIAPIPE, 3), np.nan, np.float32)
    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False,
        max_num_faces=1,
        refine_landmarks=True,
        min_detection_confidence=min_detection_confidence,
        min_tracking_confidence=min_tracking_confidence,
    ) as mesh:
        for frame in progress(frames, desc="face mesh", total=total):
            h, w = frame.shape[:2]
            result = mesh.process(np.ascontiguousarray(frame))
            if not result.multi_face_landmarks:
                points.append(nan)
                found.append(False)
                continue
            lm = result.multi_face_landmarks[0].landmark
            xyz = np.array([(p.x, p.y, p.z) for p in lm[:N_MEDIAPIPE]], np.float32)
            points.append(np.stack([xyz[:, 0] * w, h - xyz[:, 1] * h, -xyz[:, 2] * w], 1))
            found.append(True)
    if not points:
        return np.zeros((0, N_MEDIAPIPE, 3), np.float32), np.zeros(0, bool)
    return np.stack(points), np.array(found)
