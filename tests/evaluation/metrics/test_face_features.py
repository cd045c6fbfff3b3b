"""dlib face embeddings on real video frames: the torch network against dlib's own, identity
separation, and fid/mmd2_dlib."""

from __future__ import annotations

import dlib
import numpy as np
import pytest

from h2h.evaluation.metrics.dlib_resnet import CHIP_SIZE, face_net
from h2h.evaluation.metrics.face_features import (
    detection,
    dlib_face_metrics,
    embed_chips,
    face_chip,
    shape_predictor_5,
)
from h2h.media.video import read_video
from h2h.preprocess.dlib_models import FACE_EMBEDDING, dlib_model_path
from tests.support.project import VIDEOS


def _chips(name: str, indices: list[int], upsample: int = 0) -> np.ndarray:
    """Aligned face chips of the given frames of a sample video."""
    detector = dlib.get_frontal_face_detector()
    frames = read_video(VIDEOS / name, count=max(indices) + 1, size=(256, 256))
    chips = []
    for frame in frames[indices]:
        box = max(detector(frame, upsample), key=lambda r: r.area())
        points = np.array([(p.x, p.y) for p in shape_predictor_5()(frame, box).parts()], float)
        chips.append(face_chip(frame, points))
    return np.stack(chips)


@pytest.fixture(scope="module")
def chips() -> dict[str, np.ndarray]:
    return {"obama": _chips("obama.mov", [0, 150]), "man": _chips("dpe_man.mp4", [0]),
            "woman": _chips("lp_woman2.mp4", [0])}


def test_the_torch_network_computes_dlibs_embeddings(chips):
    every = np.concatenate(list(chips.values()))
    assert every.shape[1:] == (CHIP_SIZE, CHIP_SIZE, 3)
    ours = embed_chips(every)
    path = str(dlib_model_path(FACE_EMBEDDING))
    theirs = np.array(dlib.face_recognition_model_v1(path).compute_face_descriptor(list(every)))
    assert ours.shape == (4, 128) and np.abs(theirs).max() > 0.1
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert face_net(path) is face_net(path)  # read once per process


def test_same_face_is_closer_than_other_people(chips):
    (obama_a, obama_b), [man], [woman] = (embed_chips(c) for c in chips.values())
    same = np.linalg.norm(obama_a - obama_b)
    to_man, to_woman = np.linalg.norm(obama_a - man), np.linalg.norm(obama_a - woman)
    print(f"dlib distances: obama/obama {same:.3f}, /man {to_man:.3f}, /woman {to_woman:.3f}")
    assert same < 0.6
    assert min(to_man, to_woman) > 0.6


def test_a_detection_from_points_keeps_them():
    points = np.array([[20.4, 30.6], [40, 30], [60, 31], [80, 30], [50.5, 70.2]])
    found = detection(points)
    assert [(p.x, p.y) for p in found.parts()] == [(20, 31), (40, 30), (60, 31), (80, 30),
                                                   (50, 70)]
    assert (found.rect.left(), found.rect.bottom()) == (20, 70)


def test_dlib_face_metrics_separate_identities():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 0.05, (60, 128))
    same, other = rng.normal(0, 0.05, (60, 128)), rng.normal(0.05, 0.05, (60, 128))
    close, far = dlib_face_metrics(real, same), dlib_face_metrics(real, other)
    assert set(close) == {"fid_dlib", "mmd2_dlib"}
    assert far["fid_dlib"] > close["fid_dlib"] and far["mmd2_dlib"] > close["mmd2_dlib"]
