"""Fixtures shared by the tests: the sample data, throw-away copies of the project, the face
model and fits of two real clips.

The model (~0.5 s) and the real-clip fits (~5 s) are session-scoped: built once per test process
and shared by the fitting, render and conditioning tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from h2h.face3d.face_model import FaceModel, build_face_model
from h2h.face3d.facemesh import detect_face_mesh
from h2h.face3d.fit import fit_video
from h2h.media.video import read_video
from tests.support.params import FACE_MODEL, FIT, LANDMARKS, TRIM, profile
from tests.support.project import (
    CANONICAL_OBJ,
    ICT_NPZ,
    ROOT,
    VIDEOS,
    ProjectFactory,
    create_project,
)

CLIP_FRAMES = 80
CLIPS = ("obama.mov", "dpe_man.mp4")

@pytest.fixture(scope="session")
def sample_videos() -> Path:
    """The folder of real sample videos (read-only: tests copy what they modify)."""
    assert VIDEOS.is_dir(), f"sample videos not found at {VIDEOS} (set H2H_SHARED_DATA)"
    return VIDEOS


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """:func:`create_project` in this test's temporary directory."""
    def factory(videos: dict[str, tuple[str, str]], name: str = "project",
                **overrides: dict[str, Any]) -> Path:
        return create_project(tmp_path, videos, name, **overrides)

    return factory


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray
    points: np.ndarray
    found: np.ndarray
    fit: pd.DataFrame


@pytest.fixture(scope="session")
def built_model():
    """(FaceModel with correspondence, Correspondence) for the default "face" region."""
    return build_face_model(ICT_NPZ, CANONICAL_OBJ, FACE_MODEL.region, FACE_MODEL.rounds)


@pytest.fixture(scope="session")
def face_model(built_model) -> FaceModel:
    return built_model[0]


@pytest.fixture(scope="session")
def clips(face_model) -> dict[str, Clip]:
    """The first frames of two people's videos with Face Mesh points and the fit."""
    out = {}
    for name in CLIPS:
        frames = read_video(VIDEOS / name, count=CLIP_FRAMES)
        points, found = detect_face_mesh(frames)
        out[name] = Clip(frames, points, found,
                         fit_video(face_model, points, found, frames.shape[1], FIT))
    return out


REENACT_TARGET_FRAMES = 48


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory, face_model) -> Path:
    """A project with one trained target, "obama" (its first 48 frames through the library's
    crop, landmarks, fit and identity), whose generator is tiny (64 px, ngf 8) and random:
    what reenactment reads, without running DVC or training."""
    import torch

    from h2h.bench.suite import prepare_target
    from h2h.nn.config import build_generator
    from h2h.nn.generator_file import save_generator
    from h2h.reenact.offline import generator_path

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["face_model"].update(ict=str(ICT_NPZ), canonical=str(CANONICAL_OBJ))
    project = prepare_target(tmp_path_factory.mktemp("reenact") / "project", "obama",
                             VIDEOS / "obama.mov", params, REENACT_TARGET_FRAMES, face_model)
    config = profile("tiny", ngf=8, ndf=8)
    torch.manual_seed(0)
    save_generator(generator_path(project, "obama"), build_generator(config), config)
    return project


STAGE_FRAMES = 48  # frames of the stage_outputs fixture: train split 0..31, test 32..47


@pytest.fixture(scope="module")
def stage_outputs(tmp_path_factory, face_model):
    """(ClipPaths, frames, landmarks table): the crop, landmarks, nmfc, eyes and flow outputs of
    obama's first frames in a project's layout (``<project>/data/<stage>/obama``), made with the
    stages' library calls."""
    import cv2

    from h2h.core.outputs import write_manifest
    from h2h.face3d.identity import average_identity
    from h2h.face3d.nmfc import NMFCRenderer
    from h2h.media.video import write_video
    from h2h.preprocess.crop import split_ranges
    from h2h.preprocess.eyes import eye_points, render_eyes
    from h2h.preprocess.flow import clip_flows, save_flows
    from h2h.preprocess.landmarks import to_table, track_landmarks
    from h2h.train.data import ClipPaths

    flow_size = 128  # the flow stage works below the crop size
    paths = ClipPaths.under(tmp_path_factory.mktemp("project") / "data", "obama")
    frames = read_video(VIDEOS / "obama.mov", count=STAGE_FRAMES)  # already a 256 px face crop
    write_video(paths.frames, frames, 25.0, mode="quality")
    write_manifest(paths.crop, "crop", "obama", {}, fps=25.0, frames=STAGE_FRAMES,
                   split=split_ranges(STAGE_FRAMES, 1 / 3))
    track = track_landmarks(frames, LANDMARKS, "obama")
    table = to_table(track.series)
    paths.landmarks.parent.mkdir(parents=True)
    table.to_parquet(paths.landmarks)
    points, found = detect_face_mesh(frames)
    fit = fit_video(face_model, points, found, frames.shape[1], FIT)
    with NMFCRenderer(face_model, 256, 256) as renderer:
        nmfc = np.stack(list(renderer.render_table(fit, average_identity(fit, TRIM))))
    write_video(paths.nmfc, nmfc, 25.0)
    write_video(paths.eyes, np.stack(list(render_eyes(eye_points(table), 256, 256))), 25.0)
    small = [cv2.resize(f, (flow_size, flow_size), interpolation=cv2.INTER_AREA) for f in frames]
    save_flows(paths.flows, clip_flows(small, (1, 2, 4), preset="fast"))
    return paths, frames, table


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread, and other processes share the machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
