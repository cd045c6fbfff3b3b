"""dlib face embeddings on real video frames: identity separation, missing faces, fid/mmd2_dlib."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from h2h.evaluation.metrics.face_features import FaceEmbeddings, dlib_face_metrics, face_embeddings
from tests.support.project import VIDEOS


def _frames(name: str, indices: list[int]) -> list[np.ndarray]:
    """Decode the given frames of a sample video as RGB, reading sequentially (no seeking)."""
    cap = cv2.VideoCapture(str(VIDEOS / name))
    frames, t = [], 0
    try:
        while len(frames) < len(indices):
            ok, bgr = cap.read()
            assert ok, f"{name}: could not decode frame {t}"
            if t in indices:
                frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            t += 1
    finally:
        cap.release()
    return frames


@pytest.fixture(scope="module")
def embeddings() -> FaceEmbeddings:
    obama = _frames("obama.mov", [0, 150])
    others = _frames("dpe_man.mp4", [0]) + _frames("lp_woman2.mp4", [0])
    blank = np.zeros((256, 256, 3), np.uint8)
    return face_embeddings([obama[0], blank, obama[1], *others], batch_size=2)


def test_embeddings_are_128d_and_blank_frames_are_counted(embeddings):
    assert embeddings.features.shape == (4, 128)
    assert embeddings.frames.tolist() == [0, 2, 3, 4]  # frame 1 is the blank one
    assert embeddings.no_face == 1


def test_same_face_is_closer_than_other_people(embeddings):
    obama_a, obama_b, man, woman = embeddings.features
    same = np.linalg.norm(obama_a - obama_b)
    to_man, to_woman = np.linalg.norm(obama_a - man), np.linalg.norm(obama_a - woman)
    print(f"dlib distances: obama/obama {same:.3f}, /man {to_man:.3f}, /woman {to_woman:.3f}")
    assert same < 0.6
    assert min(to_man, to_woman) > 0.6


def test_no_face_anywhere_gives_an_empty_result():
    result = face_embeddings(np.zeros((3, 64, 64, 3), np.uint8))
    assert result.features.shape == (0, 128) and result.no_face == 3 and len(result.frames) == 0


def test_dlib_face_metrics_separate_identities():
    rng = np.random.default_rng(0)
    real = FaceEmbeddings(rng.normal(0, 0.05, (60, 128)), np.arange(60), 0)
    same = FaceEmbeddings(rng.normal(0, 0.05, (60, 128)), np.arange(60), 2)
    other = FaceEmbeddings(rng.normal(0.05, 0.05, (60, 128)), np.arange(60), 0)
    close, far = dlib_face_metrics(real, same), dlib_face_metrics(real, other)
    assert set(close) == {"fid_dlib", "mmd2_dlib", "no_face_real", "no_face_fake"}
    assert close["no_face_fake"] == 2
    assert far["fid_dlib"] > close["fid_dlib"] and far["mmd2_dlib"] > close["mmd2_dlib"]
