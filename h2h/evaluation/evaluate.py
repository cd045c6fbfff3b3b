"""Measuring a generated video the way the paper does (Sec. 4.3): against the ground truth in
self reenactment, and against what it was asked to show in every mode.

The generated video goes through the recovery its real side went through
(:mod:`h2h.evaluation.recovery`, at the same resolution) and is compared with its *reference*:

- per frame, what it should show: in self reenactment the recovered expressions, head rotations
  and eye landmarks of the ground-truth frames; in head and face reenactment those of its
  conditioning (the source's, adapted to the target: there is no ground truth). AED, ARD, AELD.
- the target's real frames (:mod:`h2h.evaluation.reference`): the test split in self
  reenactment, the start of the training split otherwise. DAI (their average identity),
  FID / MMD^2 (their face embeddings, MMD^2 with their kernel bandwidth) and FVD.
- in self reenactment the ground-truth pixels: APD, MAPD (in the conditioning's face area),
  mouth APD, and the flow-warping error relative to the ground truth's own (the same flow).

Failures count against the generated video. A frame-wise metric scores the frames whose
reference is known; where the generated frame's recovery failed (no face found), the frame is
scored at chance level, as if it showed the reference's average (expression, rotation, eye
landmarks): what a generator that ignores its conditioning would get, so that failing on hard
frames never improves a score. For DAI such a frame contributes the model's mean identity
(nobody in particular); FID / MMD^2 embed it at the real frames' average face position. Every
metric reports the frames it used (``<metric>_frames``) and, of those, the failed ones
(``<metric>_failed``); the distribution metrics also the size of the real sample
(``<metric>_real_frames``): :func:`counts` tells those apart from the scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from h2h.core.config import from_mapping
from h2h.core.errors import H2HError
from h2h.core.outputs import read_manifest
from h2h.evaluation.metrics.distributions import frechet_distance
from h2h.evaluation.metrics.face_features import dlib_face_metrics
from h2h.evaluation.metrics.geometry import EYE_POINTS, aed, aeld, ard, dai
from h2h.evaluation.metrics.per_frame import PerFrame, per_frame_table
from h2h.evaluation.metrics.pixels import apd, mapd, mouth_apd
from h2h.evaluation.metrics.temporal import relative_warping_error, warping_error
from h2h.evaluation.recovery import Recoverer, Recovery
from h2h.evaluation.reference import RealSide
from h2h.face3d.face_model import FaceModel
from h2h.face3d.fit import FitParams
from h2h.face3d.fit_table import cameras_of, expressions_of
from h2h.geometry.rotations import rotvec_to_euler
from h2h.media.label import mark_mask
from h2h.media.video import read_video
from h2h.nn.regions import mouth_centres, mouth_crop_size
from h2h.preprocess.flow import clip_flows
from h2h.preprocess.landmarks import N_POINTS

#: Name endings of the frame counts among an evaluation's figures.
COUNT_SUFFIXES = ("_frames", "_failed", "_real_frames")


def counts(figures: dict[str, float]) -> dict[str, int]:
    """The frame counts among an evaluation's figures (see the module docstring): MLflow keeps
    them as run parameters, beside the scores, so the scores stay the runs' metric columns."""
    return {name: int(value) for name, value in figures.items() if name.endswith(COUNT_SUFFIXES)}


@dataclass(frozen=True)
class Expected:
    """What each of a generated video's N frames should show; NaN where nothing is known."""

    expressions: np.ndarray  # (N, 53) expression coefficients
    euler: np.ndarray  # (N, 3) head rotation, degrees
    eye_points: np.ndarray  # (N, 14, 2) eye contours and pupils, generated-frame pixels

    @classmethod
    def of_recovery(cls, recovery: Recovery) -> Expected:
        """The ground truth's own recovery (self reenactment)."""
        return cls(recovery.expressions, recovery.euler,
                   recovery.landmarks[:, list(EYE_POINTS)])

    @classmethod
    def of_conditioning(cls, table: pd.DataFrame, eye_points: np.ndarray,
                        scale: float) -> Expected:
        """A conditioning table and its eye points, whose pixel coordinates are ``1 / scale``
        times the generated video's (conditioning at 256 px, generator at 64 px: 0.25)."""
        valid = table["valid"].to_numpy(bool)
        expressions = expressions_of(table)
        expressions[~valid] = np.nan
        euler = rotvec_to_euler(cameras_of(table)[:, :3])
        euler[~valid] = np.nan
        return cls(expressions, euler, np.asarray(eye_points, np.float64) * scale)

    @property
    def known(self) -> np.ndarray:
        """(N,) frames with a known expression and pose: where a face should be."""
        return np.isfinite(self.expressions).all(axis=1) & np.isfinite(self.euler).all(axis=1)


@dataclass(frozen=True)
class GroundTruth:
    """The real frames a self reenactment should reproduce, at the generated resolution."""

    frames: np.ndarray  # (N, H, W, 3) uint8
    face: np.ndarray | None = None  # (N, H, W) bool: the conditioning's face area (MAPD)
    exclude: np.ndarray | None = None  # (H, W) bool: pixels left out (the visible mark)


@dataclass(frozen=True)
class Reference:
    """Everything a generated video is measured against."""

    expected: Expected
    real: RealSide  # the target's real frames (ground truth in self reenactment)
    flow_preset: str  # DIS preset of the flows (the real side's, for the generated video's own)
    truth: GroundTruth | None = None


@dataclass(frozen=True)
class Scored:
    """One metric of one video: its value and the frames behind it."""

    value: float
    frames: int  # frames (or frame pairs) the metric used
    failed: int = 0  # of those, frames where the generated video's recovery failed
    real_frames: int | None = None  # the real sample's size (distribution metrics)
    per_frame: PerFrame | None = None


def _at_chance(expected: np.ndarray, found: np.ndarray,
               fake: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``fake`` with its failed frames replaced by the average of ``expected``; also the frames
    used (``expected`` known) and the failed ones (used, but not ``found`` in the fake)."""
    axes = tuple(range(1, expected.ndim))
    used = np.isfinite(expected).all(axis=axes)
    failed = used & ~(found & np.isfinite(fake).all(axis=axes))
    filled = np.array(fake, np.float64)
    if used.any():
        filled[failed] = expected[used].mean(axis=0)
    return filled, used, failed


def _frame_metrics(expected: Expected, fake: Recovery) -> dict[str, Scored]:
    """AED, ARD and AELD, failed frames at chance level."""
    scores = {}
    for name, want, found, got, metric in (
        ("aed", expected.expressions, fake.fitted, fake.expressions, aed),
        ("ard_deg", expected.euler, fake.fitted, fake.euler, ard),
        ("aeld_px", expected.eye_points, fake.faces, fake.landmarks[:, list(EYE_POINTS)],
         lambda a, b, used: aeld(_as_landmarks(a), _as_landmarks(b), used)),
    ):
        filled, used, failed = _at_chance(want, found, got)
        per_frame = metric(want, filled, used)
        scores[name] = Scored(per_frame.mean, int(used.sum()), int(failed.sum()),
                              per_frame=per_frame)
    return scores


def _as_landmarks(eye_points: np.ndarray) -> np.ndarray:
    """(N, 14, 2) eye points placed in a (N, 70, 2) landmarks array (other points NaN)."""
    full = np.full((len(eye_points), N_POINTS, 2), np.nan)
    full[:, list(EYE_POINTS)] = eye_points
    return full


def _identity_distance(expected: Expected, real: RealSide, fake: Recovery) -> Scored:
    """DAI over the frames where a face should be; a failed frame counts as the mean face."""
    used = expected.known
    failed = used & ~fake.fitted
    identities = fake.identities.copy()
    identities[failed] = 0.0
    return Scored(dai(real.recovery.identities[real.recovery.fitted], identities[used]),
                  int(used.sum()), int(failed.sum()))


def mouth_boxes(landmarks: np.ndarray, height: int) -> np.ndarray:
    """(N, 4) x0, y0, x1, y1 of the mouth crops the mouth discriminator sees (NaN: no mouth)."""
    size = mouth_crop_size(height)
    corners = mouth_centres(np.asarray(landmarks)) - size / 2
    return np.concatenate([corners, corners + size], axis=1)


def _pixel_metrics(fake: np.ndarray, truth: GroundTruth, real: RealSide) -> dict[str, Scored]:
    """APD, MAPD and mouth APD against the ground truth; the mouth box is the ground truth's."""
    keep = None if truth.exclude is None else np.broadcast_to(~truth.exclude, fake.shape[:3])
    pixel = {"apd": apd(truth.frames, fake) if keep is None else mapd(truth.frames, fake, keep)}
    if truth.face is not None:
        pixel["mapd"] = mapd(truth.frames, fake, truth.face if keep is None else truth.face & keep)
    pixel["mouth_apd"] = mouth_apd(truth.frames, fake,
                                   mouth_boxes(real.recovery.landmarks, fake.shape[1]))
    return {name: Scored(value.mean, len(fake) - value.skipped, per_frame=value)
            for name, value in pixel.items()}


def _temporal(fake: np.ndarray, reference: Reference) -> dict[str, Scored]:
    """The flow-warping error relative to the ground truth's, with the ground truth's flow; or,
    without ground truth, the generated video's own (its own flow)."""
    if reference.truth is not None:
        ratio, error = relative_warping_error(fake, reference.real.flows,
                                              reference.real.warp_error)
        return {"warp_error_ratio": Scored(ratio, len(fake) - 1, per_frame=error)}
    error = warping_error(fake, clip_flows(fake, (1,), reference.flow_preset)[1])
    return {"warp_error": Scored(error.mean, len(fake) - 1, per_frame=error)}


def _distributions(fake: np.ndarray, recovery: Recovery, real: RealSide,
                   i3d_weights: str | Path | None) -> dict[str, Scored]:
    """FID / MMD^2 of the face embeddings (every frame) and, with I3D weights, FVD."""
    failed = int((~recovery.faces).sum())
    faces = dlib_face_metrics(real.recovery.embeddings, recovery.embeddings, real.bandwidth)
    scores = {name: Scored(value, len(fake), failed, len(real.recovery))
              for name, value in faces.items()}
    if i3d_weights is not None:
        from h2h.evaluation.metrics.fvd import CLIP_LENGTH, video_features

        clips = len(fake) // CLIP_LENGTH
        if real.i3d is None or min(len(real.i3d), clips) < 2:
            value = float("nan")  # FVD needs two clips of 16 frames on each side
        else:
            value = frechet_distance(real.i3d, video_features(fake, i3d_weights))
        real_clips = 0 if real.i3d is None else len(real.i3d)
        scores["fvd"] = Scored(value, clips * CLIP_LENGTH, 0, real_clips * CLIP_LENGTH)
    return scores


def evaluate(fake: np.ndarray, recovery: Recovery, reference: Reference,
             i3d_weights: str | Path | None = None) -> tuple[dict[str, float], pd.DataFrame]:
    """All the metrics of one generated video (N, H, W, 3) and its ``recovery``: (video
    values with their counts, per-frame table).

    Names: ``aed``, ``ard_deg``, ``aeld_px``, ``dai``, ``fid_dlib``, ``mmd2_dlib`` always;
    ``apd``, ``mapd``, ``mouth_apd``, ``warp_error_ratio`` with ground truth (else
    ``warp_error``, the generated video's own flow-warping error); ``fvd`` with I3D weights.
    """
    scores = _frame_metrics(reference.expected, recovery)
    scores["dai"] = _identity_distance(reference.expected, reference.real, recovery)
    if reference.truth is not None:
        scores.update(_pixel_metrics(fake, reference.truth, reference.real))
    scores.update(_temporal(fake, reference))
    scores.update(_distributions(fake, recovery, reference.real, i3d_weights))
    metrics: dict[str, float] = {}
    for name, score in scores.items():
        metrics.update({name: score.value, f"{name}_frames": float(score.frames),
                        f"{name}_failed": float(score.failed)})
        if score.real_frames is not None:
            metrics[f"{name}_real_frames"] = float(score.real_frames)
    table = per_frame_table({name: score.per_frame for name, score in scores.items()
                             if score.per_frame is not None})
    table["fit_failed"] = ~recovery.fitted
    table["face_failed"] = ~recovery.faces
    return metrics, table


@dataclass(frozen=True)
class Inputs:
    """The stage outputs one evaluation reads."""

    mode: str  # head | face | self
    reenact: Path  # the generated video (reenact stage)
    conditioning: Path  # what it was asked to show (conditioning stage)
    reference: Path  # its target's real side (reference stage)
    target_crop: Path  # the target's crops (the ground truth's pixels)
    face_model: Path  # the face model (face_model stage)

    def __post_init__(self) -> None:  # accept str paths too (stage arguments)
        for name in ("reenact", "conditioning", "reference", "target_crop", "face_model"):
            object.__setattr__(self, name, Path(getattr(self, name)))


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]
    per_frame: pd.DataFrame
    frames: int  # generated frames
    resolution: int


def evaluate_reenactment(inputs: Inputs, workers: int = 1) -> Evaluation:
    """Every metric of one reenactment from the stages' outputs, its generated video recovered
    by ``workers`` processes with the settings its real side was recovered with (the reference
    stage's ``fit`` parameters, I3D weights and DIS preset)."""
    reenacted = read_manifest(inputs.reenact, "reenact")
    made = read_manifest(inputs.reference, "reference")
    size = int(reenacted["resolution"])
    if made["resolution"] != size:
        raise H2HError(f"the reference is at {made['resolution']} px but the generated video at "
                       f"{size} px: run the reference stage again", inputs.reference)
    settings = made["params"]
    real = RealSide.load(inputs.reference / ("test" if inputs.mode == "self" else "train"))
    model = FaceModel.load(inputs.face_model / "model.npz")
    with Recoverer(model, from_mapping(FitParams, settings["fit"], "fit"), workers) as recoverer:
        fake = read_video(inputs.reenact / "frames.mkv")
        recovery = recoverer.recover(fake, real.recovery.mean_shape)
    conditioned = read_manifest(inputs.conditioning, "conditioning")
    truth = None
    if inputs.mode == "self":  # the test split is the ground truth, frame for frame
        start, stop = real.frames
        if list(conditioned["source_frames"]) != [start, stop] or len(fake) != stop - start:
            raise H2HError(f"the reference's test split (frames {start}-{stop - 1}) is not what "
                           "was reenacted: run the reference stage again", inputs.reference)
        truth = GroundTruth(
            read_video(inputs.target_crop / "frames.mkv", start, stop - start, size=(size, size)),
            read_video(inputs.conditioning / "nmfc.mkv", size=(size, size)).any(axis=-1),
            mark_mask(size, size) if reenacted["mark"] else None)
        expected = Expected.of_recovery(real.recovery)
    else:
        expected = Expected.of_conditioning(
            pd.read_parquet(inputs.conditioning / "conditioning.parquet"),
            np.load(inputs.conditioning / "eye_points.npy"), size / conditioned["size"])
    metrics, per_frame = evaluate(fake, recovery, Reference(expected, real, settings["flow.preset"],
                                                            truth),
                                  settings["reference"]["i3d_weights"])
    return Evaluation(metrics, per_frame, len(fake), size)
