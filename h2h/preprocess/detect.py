"""Face detectors behind one signature: an RGB frame in, face boxes (x0, y0, x1, y1) out.

dlib's HOG detector is the default (what the paper's preprocessing family uses); MediaPipe's
BlazeFace is faster and copes better with profile views. Large frames are shrunk before detection
(``max_side``), which is what makes HOG affordable on HD video.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Detector = Callable[[np.ndarray], np.ndarray]  # frame (H, W, 3) -> boxes (K, 4) float


def _shrink(frame: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    scale = min(1.0, max_side / max(frame.shape[:2]))
    if scale == 1.0:
        return frame, 1.0
    size = (round(frame.shape[1] * scale), round(frame.shape[0] * scale))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale


def dlib_hog_detector(max_side: int, upsample: int = 1) -> Detector:
    """dlib's frontal-face HOG detector on a frame shrunk to at most ``max_side`` pixels."""
    import dlib

    hog = dlib.get_frontal_face_detector()

    def detect(frame: np.ndarray) -> np.ndarray:
        small, scale = _shrink(frame, max_side)
        rects = hog(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), upsample)
        boxes = [(r.left(), r.top(), r.right(), r.bottom()) for r in rects]
        return np.asarray(boxes, np.float64).reshape(-1, 4) / scale

    return detect


def mediapipe_detector(max_side: int = 320, min_confidence: float = 0.5) -> Detector:
    """MediaPipe BlazeFace (full-range model), whose boxes are converted to pixels."""
    import mediapipe as mp

    blaze = mp.solutions.face_detection.FaceDetection(
        model_selection=1, min_detection_confidence=min_confidence)

    def detect(frame: np.ndarray) -> np.ndarray:
        small, _ = _shrink(frame, max_side)
        result = blaze.process(np.ascontiguousarray(small))
        height, width = frame.shape[:2]
        boxes = []
        for detection in result.detections or []:
            box = detection.location_data.relative_bounding_box
            boxes.append((box.xmin * width, box.ymin * height,
                          (box.xmin + box.width) * width, (box.ymin + box.height) * height))
        return np.asarray(boxes, np.float64).reshape(-1, 4)

    return detect


DETECTORS: dict[str, Callable[..., Detector]] = {
    "dlib_hog": dlib_hog_detector,
    "mediapipe": mediapipe_detector,
}


def make_detector(name: str, max_side: int) -> Detector:
    """The detector called ``name`` (a key of :data:`DETECTORS`)."""
    return DETECTORS[name](max_side=max_side)


def largest_box(boxes: np.ndarray) -> np.ndarray | None:
    """The box of largest area, or None when there is none."""
    if len(boxes) == 0:
        return None
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[int(np.argmax(areas))]
