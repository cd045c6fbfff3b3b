"""Face identity features for FID / MMD^2 of faces: dlib's 128-D face recognition embedding.

The paper extracts the features for FID and MMD^2 with ArcFace (Sec. 4.3, ref. [52]). No package
ships ArcFace weights and nothing may download at run time, so we use the face recognition ResNet
that ``face_recognition_models`` ships for dlib (128-D, trained for identity: faces of one person
lie within ~0.6 of each other), run by torch (:mod:`h2h.evaluation.metrics.dlib_resnet`). The
metrics are named ``fid_dlib`` and ``mmd2_dlib`` to make plain that their values are not
comparable with the paper's ArcFace numbers.

A face is aligned as dlib's ``compute_face_descriptor`` aligns it: its 5-point shape (eye corners
and the base of the nose) maps to a 150 x 150 chip with 25% padding. Finding the face and its
shape is the recovery's job (:mod:`h2h.evaluation.recovery`).
"""

from __future__ import annotations

from functools import lru_cache

import dlib
import numpy as np

from h2h.evaluation.metrics.distributions import frechet_distance, mmd2
from h2h.evaluation.metrics.dlib_resnet import CHIP_SIZE, face_net
from h2h.preprocess.dlib_models import FACE_EMBEDDING, LANDMARKS_5, dlib_model_path

CHIP_PADDING = 0.25  # dlib's default for the face recognition network


@lru_cache(maxsize=1)
def shape_predictor_5() -> dlib.shape_predictor:
    """dlib's 5-point shape predictor, loaded once per process."""
    return dlib.shape_predictor(str(dlib_model_path(LANDMARKS_5)))


def detection(points: np.ndarray) -> dlib.full_object_detection:
    """A dlib 5-point face detection from (5, 2) points (rounded to whole pixels, as dlib's
    shape predictor returns them)."""
    xy = np.round(np.asarray(points, np.float64)).astype(int)
    box = dlib.rectangle(*xy.min(axis=0), *xy.max(axis=0))
    return dlib.full_object_detection(box, dlib.points([dlib.point(*p) for p in xy.tolist()]))


def face_chip(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The aligned (150, 150, 3) chip of the face whose 5-point shape is ``points`` (5, 2)."""
    return dlib.get_face_chip(np.ascontiguousarray(image, np.uint8), detection(points),
                              size=CHIP_SIZE, padding=CHIP_PADDING)


def embed_chips(chips: np.ndarray) -> np.ndarray:
    """(N, 128) float32 embeddings of (N, 150, 150, 3) uint8 chips (dlib's network)."""
    if len(chips) == 0:
        return np.zeros((0, 128), np.float32)
    return face_net(str(dlib_model_path(FACE_EMBEDDING)))(chips)


def dlib_face_metrics(real: np.ndarray, fake: np.ndarray,
                      bandwidth: float | None = None) -> dict[str, float]:
    """``fid_dlib`` and ``mmd2_dlib`` of (M, 128) real and (N, 128) generated embeddings.

    ``bandwidth``: MMD^2's kernel width, the real sample's median pairwise distance unless given
    (a real side computed once passes its own, so every variant is measured with one kernel).
    """
    return {"fid_dlib": frechet_distance(real, fake), "mmd2_dlib": mmd2(real, fake, bandwidth)}
