"""Shared fixtures: the sample data folder, the face model and fits of two real clips.

Fixtures are session-scoped: the model (~0.5 s) and the real-clip fits (~5 s) are built once
per test run and shared by the fitting, render and conditioning tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from h2h.face_model import FaceModel, build_face_model
from h2h.facemesh import detect_face_mesh
from h2h.fitting import fit_video

CLIP_FRAMES = 80
CLIPS = ("obama.mov", "dpe_man.mp4")


def shared_data() -> Path:
    env = os.environ.get("H2H_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


ICT_NPZ = shared_data() / "face_model" / "ict_facekit_light.npz"
CANONICAL_OBJ = shared_data() / "face_model" / "mediapipe_canonical_face_model.obj"


def read_clip(name: str, n: int) -> np.ndarray:
    """The first ``n`` frames of a sample video as (n, H, W, 3) uint8 RGB."""
    cap = cv2.VideoCapture(str(shared_data() / "videos" / name))
    frames = []
    while len(frames) < n:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    assert len(frames) == n, f"{name}: only {len(frames)} frames decoded"
    return np.stack(frames)


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray
    points: np.ndarray
    found: np.ndarray
    fit: pd.DataFrame


@pytest.fixture(scope="session")
def built_model():
    """(FaceModel with correspondence, Correspondence) for the default "face" region."""
    return build_face_model(ICT_NPZ, CANONICAL_OBJ)


@pytest.fixture(scope="session")
def face_model(built_model) -> FaceModel:
    return built_model[0]


@pytest.fixture(scope="session")
def clips(face_model) -> dict[str, Clip]:
    """The first frames of two people's videos with Face Mesh points and the fit."""
    out = {}
    for name in CLIPS:
        frames = read_clip(name, CLIP_FRAMES)
        points, found = detect_face_mesh(frames)
        out[name] = Clip(frames, points, found, fit_video(face_model, points, found, frames.shape[1]))
    return out
