"""Face identity features for FID / MMD^2 of faces: dlib's 128-D face recognition embedding.

The paper extracts the features for FID and MMD^2 with ArcFace (Sec. 4.3, ref. [52]). No package
ships ArcFace weights and nothing may download at run time, so we use the face recognition ResNet
that ``face_recognition_models`` ships for dlib (128-D, trained for identity: faces of one person
lie within ~0.6 of each other). The metrics are named ``fid_dlib`` and ``mmd2_dlib`` to make plain
that their values are not comparable with the paper's ArcFace numbers.

Pipeline per frame: HOG face detection (the largest face when there are several), dlib's 5-point
shape predictor for alignment, then the embedding. Frames without a detected face are skipped
and counted. The models are loaded once per process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sized
from dataclasses import dataclass
from functools import lru_cache

import dlib
import numpy as np

from h2h.core.progress import progress
from h2h.evaluation.metrics.distributions import frechet_distance, mmd2
from h2h.preprocess.dlib_models import FACE_EMBEDDING, LANDMARKS_5, dlib_model_path


@dataclass(frozen=True)
class FaceEmbeddings:
    """Embeddings (M, 128) float64 of the frames listed in ``frames`` (M,); ``no_face`` frames
    had no detected face."""

    features: np.ndarray
    frames: np.ndarray
    no_face: int


@lru_cache(maxsize=1)
def _dlib_models() -> tuple[
    dlib.fhog_object_detector, dlib.shape_predictor, dlib.face_recognition_model_v1
]:
    """Detector, 5-point predictor and embedding network, loaded once per process (~0.3 s)."""
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(dlib_model_path(LANDMARKS_5))),
        dlib.face_recognition_model_v1(str(dlib_model_path(FACE_EMBEDDING))),
    )


def _embed(network: dlib.face_recognition_model_v1, images: list, shapes: list) -> list[np.ndarray]:
    """One network call for a batch of aligned faces."""
    if not images:
        return []
    return [np.asarray(v[0]) for v in network.compute_face_descriptor(images, shapes)]


def face_embeddings(
    frames: Iterable[np.ndarray], batch_size: int = 16, upsample: int = 0
) -> FaceEmbeddings:
    """128-D dlib embeddings of the largest face in each RGB uint8 frame.

    ``frames`` may be an array (N, H, W, 3) or any iterable of frames (e.g. a video reader), so
    long videos stream. The network embeds ``batch_size`` faces per call. ``upsample`` = 0 finds
    faces of about 80 px and larger, enough for the 256x256 crops; each extra level doubles the
    image for smaller faces at 4x the cost.
    """
    detector, shape_predictor, network = _dlib_models()
    features: list[np.ndarray] = []
    indices: list[int] = []
    images: list[np.ndarray] = []
    shapes: list[dlib.full_object_detections] = []
    n_frames = 0
    total = len(frames) if isinstance(frames, Sized) else None
    for t, frame in enumerate(progress(frames, desc="face embeddings", total=total)):
        n_frames = t + 1
        image = np.ascontiguousarray(frame, dtype=np.uint8)
        boxes = detector(image, upsample)
        if not boxes:
            continue
        detections = dlib.full_object_detections()
        detections.append(shape_predictor(image, max(boxes, key=lambda r: r.area())))
        images.append(image)
        shapes.append(detections)
        indices.append(t)
        if len(images) == batch_size:
            features += _embed(network, images, shapes)
            images, shapes = [], []
    features += _embed(network, images, shapes)
    return FaceEmbeddings(
        features=np.asarray(features, dtype=np.float64).reshape(-1, 128),
        frames=np.asarray(indices, dtype=np.int64),
        no_face=n_frames - len(indices),
    )


def dlib_face_metrics(real: FaceEmbeddings, fake: FaceEmbeddings) -> dict[str, float]:
    """``fid_dlib`` and ``mmd2_dlib`` (unbiased, Gaussian kernel, median-heuristic bandwidth) of
    the real and generated embeddings, plus how many frames of each had no face.

    Embeddings are computed separately so that a real video's embeddings serve every variant.
    """
    return {
        "fid_dlib": frechet_distance(real.features, fake.features),
        "mmd2_dlib": mmd2(real.features, fake.features),
        "no_face_real": float(real.no_face),
        "no_face_fake": float(fake.no_face),
    }
