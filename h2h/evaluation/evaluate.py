"""Measuring a generated video the way the paper does (Sec. 4.3): against the ground truth where
there is one (self reenactment), and against what it was asked to show in every mode.

A generated video is analysed with h2h's own 3D recovery (Face Mesh + fit, dlib landmarks and
pupils) and compared with its *reference*: the expressions, head rotations and eye landmarks of
its conditioning (the source's, adapted to the target), the target's average identity, and the
target's real frames. Pixel metrics (APD, MAPD, mouth APD) and the temporal ratio need ground
truth and are only computed in self reenactment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from h2h.core.config import Section
from h2h.evaluation.metrics.face_features import dlib_face_metrics, face_embeddings
from h2h.evaluation.metrics.fvd import fvd
from h2h.evaluation.metrics.geometry import EYE_POINTS, aed, aeld, ard, dai
from h2h.evaluation.metrics.per_frame import PerFrame, per_frame_table
from h2h.evaluation.metrics.pixels import apd, mapd, mouth_apd
from h2h.evaluation.metrics.temporal import relative_warping_error, warping_error
from h2h.face3d.face_model import FaceModel
from h2h.face3d.facemesh import detect_face_mesh
from h2h.face3d.fit import FitParams, fit_video
from h2h.face3d.fit_table import cameras_of, expressions_of, identities_of, make_table
from h2h.geometry.rotations import rotvec_to_euler
from h2h.nn.regions import mouth_centres, mouth_crop_size
from h2h.preprocess.flow import clip_flows
from h2h.preprocess.landmarks import N_POINTS, LandmarkDetector, detect_landmarks


@dataclass(frozen=True)
class EvaluateParams(Section):
    """params.yaml's ``evaluate`` section (paper 4.3)."""

    name: ClassVar[str] = "evaluate"

    i3d_weights: str | None  # TorchScript I3D file for FVD; without it FVD is left out
    max_reference_frames: int  # real target frames FID / MMD^2 compare with


@dataclass(frozen=True)
class Recovery:
    """h2h's 3D recovery of a video: the fit table and the 70 landmarks (NaN where not found)."""

    fit: pd.DataFrame
    landmarks: np.ndarray  # (N, 70, 2)

    @property
    def landmarks_valid(self) -> np.ndarray:
        return np.isfinite(self.landmarks).all(axis=(1, 2))

    @property
    def euler(self) -> np.ndarray:
        """(N, 3) head rotation as Euler angles in degrees (NaN where not fitted)."""
        return rotvec_to_euler(cameras_of(self.fit)[:, :3])


def recover(frames: np.ndarray, model: FaceModel, settings: FitParams,
            landmark_upsample: int) -> Recovery:
    """Run the fit and landmark stages' analysis on a video held in memory.

    A generated video may show no recognisable face at all (an untrained or broken model): its
    fit is then all invalid, and the geometric metrics come out undefined rather than failing.
    """
    points, found = detect_face_mesh(frames, total=len(frames))
    if found.any():
        fit = fit_video(model, points, found, frames.shape[1], settings)
    else:
        n = len(frames)
        fit = make_table(np.full((n, 6), np.nan), np.full((n, model.n_identity), np.nan),
                         np.full((n, model.n_expression), np.nan), np.zeros(n, bool))
    landmarks = detect_landmarks(frames, LandmarkDetector(landmark_upsample)).values
    return Recovery(fit, landmarks)


@dataclass(frozen=True)
class Reference:
    """What a generated video should show, at the generated video's resolution."""

    expressions: np.ndarray  # (N, 53) from the conditioning
    euler: np.ndarray  # (N, 3) degrees, from the conditioning cameras
    valid: np.ndarray  # (N,) conditioning frames with a fit
    eye_points: np.ndarray  # (N, 14, 2) eye contours and pupils of the conditioning
    identity: np.ndarray  # the target's average identity
    target_frames: np.ndarray  # real frames of the target (FID / MMD^2 reference)
    ground_truth: np.ndarray | None = None  # (N, H, W, 3): self reenactment only
    ground_truth_landmarks: np.ndarray | None = None  # (N, 70, 2)
    nmfc: np.ndarray | None = None  # (N, H, W, 3) conditioning NMFC (face mask for MAPD)
    exclude: np.ndarray | None = None  # (H, W) pixels left out of APD / MAPD (the visible mark)


def conditioning_reference(conditioning: pd.DataFrame, eye_points: np.ndarray, scale: float,
                           identity: np.ndarray, target_frames: np.ndarray) -> Reference:
    """The reference of a conditioning table whose pixel coordinates are ``1 / scale`` times
    the generated video's (e.g. conditioning at 256 px, generator at 128 px: scale 0.5)."""
    return Reference(
        expressions=expressions_of(conditioning),
        euler=rotvec_to_euler(cameras_of(conditioning)[:, :3]),
        valid=conditioning["valid"].to_numpy(bool),
        eye_points=np.asarray(eye_points, np.float64) * scale,
        identity=np.asarray(identity, np.float64),
        target_frames=target_frames,
    )


def _as_landmarks(eye_points: np.ndarray) -> np.ndarray:
    """(N, 14, 2) eye points placed in a (N, 70, 2) landmarks array (other points NaN)."""
    full = np.full((len(eye_points), N_POINTS, 2), np.nan)
    full[:, list(EYE_POINTS)] = eye_points
    return full


def mouth_boxes(landmarks: np.ndarray, height: int) -> np.ndarray:
    """(N, 4) x0, y0, x1, y1 of the mouth crops the mouth discriminator sees (NaN: no mouth)."""
    size = mouth_crop_size(height)
    corners = mouth_centres(np.asarray(landmarks)) - size / 2
    return np.concatenate([corners, corners + size], axis=1)


def evaluate(fake: np.ndarray, fake_recovery: Recovery, reference: Reference,
             i3d_weights: str | Path | None = None,
             face_upsample: int = 0) -> tuple[dict[str, float], pd.DataFrame]:
    """All the metrics of one generated video: (video values, per-frame table).

    Names: ``aed``, ``ard_deg``, ``dai``, ``aeld_px``, ``fid_dlib``, ``mmd2_dlib`` always;
    ``apd``, ``mapd``, ``mouth_apd``, ``warp_error_ratio`` with ground truth (else
    ``warp_error``, the generated video's own flow-warping error); ``fvd`` with I3D weights.
    ``face_upsample``: dlib's upsampling for the face embeddings (small frames need 1-2).
    """
    valid = reference.valid & fake_recovery.fit["valid"].to_numpy(bool)
    per_frame: dict[str, PerFrame] = {
        "aed": aed(reference.expressions, expressions_of(fake_recovery.fit), valid),
        "ard_deg": ard(reference.euler, fake_recovery.euler, valid),
        "aeld_px": aeld(_as_landmarks(reference.eye_points), fake_recovery.landmarks,
                        np.isfinite(reference.eye_points).all(axis=(1, 2)),
                        fake_recovery.landmarks_valid),
    }
    truth = reference.ground_truth
    if truth is not None:
        keep = None if reference.exclude is None else np.broadcast_to(~reference.exclude,
                                                                      fake.shape[:3])
        per_frame["apd"] = apd(truth, fake) if keep is None else mapd(truth, fake, keep)
        if reference.nmfc is not None:
            face = reference.nmfc.any(axis=-1)
            per_frame["mapd"] = mapd(truth, fake, face if keep is None else face & keep)
        if reference.ground_truth_landmarks is not None:
            per_frame["mouth_apd"] = mouth_apd(
                truth, fake, mouth_boxes(reference.ground_truth_landmarks, fake.shape[1]))
    metrics = {name: value.mean for name, value in per_frame.items()}
    metrics["dai"] = dai(reference.identity[None], identities_of(fake_recovery.fit))
    real_faces = face_embeddings(reference.target_frames, upsample=face_upsample)
    fake_faces = face_embeddings(fake, upsample=face_upsample)
    metrics["no_face_frames"] = float(fake_faces.no_face)
    if min(len(real_faces.features), len(fake_faces.features)) >= 2:
        faces = dlib_face_metrics(real_faces, fake_faces)
        metrics.update(fid_dlib=faces["fid_dlib"], mmd2_dlib=faces["mmd2_dlib"])
    else:  # a generator that draws no recognisable face: the distances are undefined
        metrics.update(fid_dlib=float("nan"), mmd2_dlib=float("nan"))
    if truth is not None:
        metrics["warp_error_ratio"] = relative_warping_error(truth, fake, clip_flows(truth)[1])
    else:
        metrics["warp_error"] = warping_error(fake, clip_flows(fake)[1]).mean
    if i3d_weights is not None:
        metrics["fvd"] = fvd(reference.target_frames, fake, i3d_weights)
    return metrics, per_frame_table(per_frame)
