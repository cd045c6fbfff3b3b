"""The wiring of :func:`h2h.evaluation.evaluate.evaluate`: a generated video whose recovery
differs from the ground truth's by known amounts scores exactly those amounts, and failed frames
are counted and scored at chance level."""

import numpy as np
import pytest

from h2h.evaluation.evaluate import (
    Expected,
    GroundTruth,
    Reference,
    counts,
    evaluate,
    mouth_boxes,
)
from h2h.evaluation.recovery import Recoverer, Recovery
from h2h.evaluation.reference import real_side
from h2h.face3d.fit_table import expression_columns, identity_columns, make_table
from h2h.geometry.rotations import euler_to_rotvec
from h2h.media.video import read_video
from tests.support.params import FIT
from tests.support.project import VIDEOS

N = 30
EYES = [*range(36, 48), 68, 69]


@pytest.fixture(scope="module")
def real(face_model):
    frames = read_video(VIDEOS / "obama.mov", start=300, count=N, size=(64, 64))
    with Recoverer(face_model, FIT) as recoverer:
        recovery = recoverer.recover(frames)
    assert recovery.fitted.all() and recovery.faces.all()
    return frames, recovery


def reference_of(frames, recovery, with_truth=True):
    side = real_side(frames, (0, N), recovery, "medium")
    truth = GroundTruth(frames, face=np.ones(frames.shape[:3], bool)) if with_truth else None
    return Reference(Expected.of_recovery(recovery), side, "medium", truth)


def perturbed(recovery: Recovery, failed=()) -> Recovery:
    """The recovery with 3 expressions + 0.1, Euler angles + (2, -3, 1) degrees, identities
    + 0.05 and landmarks + (3, 4) px; ``failed`` frames found no face."""
    fit = recovery.fit.copy()
    fit[expression_columns()[:3]] += 0.1
    fit[identity_columns()] += 0.05
    fit[["rot_x", "rot_y", "rot_z"]] = euler_to_rotvec(recovery.euler + [2.0, -3.0, 1.0])
    landmarks, shapes = recovery.landmarks + [3.0, 4.0], recovery.shapes.copy()
    failed = list(failed)
    fit.loc[failed, "valid"] = False
    fit.loc[failed, fit.columns[3:]] = np.nan
    landmarks[failed], shapes[failed] = np.nan, np.nan
    return Recovery(fit, landmarks, shapes, recovery.embeddings)


def test_known_differences_score_exactly(real):
    frames, recovery = real
    shifted = np.clip(frames.astype(int) + [3, 4, 0], 0, 255).astype(np.uint8)
    metrics, per_frame = evaluate(shifted, perturbed(recovery), reference_of(frames, recovery))
    assert metrics["aed"] == pytest.approx(0.3)  # L1 over the coefficients
    assert metrics["ard_deg"] == pytest.approx(2.0)  # mean over the three angles
    assert metrics["aeld_px"] == pytest.approx(5.0)
    assert metrics["dai"] == pytest.approx(5.0)  # 100 coefficients, 0.05 each
    unclipped = (frames[..., 0] <= 252) & (frames[..., 1] <= 251)
    assert unclipped.mean() > 0.99
    assert metrics["apd"] == pytest.approx(5.0 * unclipped.mean(), abs=0.05)
    for name in ("aed", "ard_deg", "aeld_px", "dai", "apd"):
        assert metrics[f"{name}_frames"] == N and metrics[f"{name}_failed"] == 0, name
    np.testing.assert_allclose(per_frame["aed"], 0.3)
    assert len(per_frame) == N and not per_frame["fit_failed"].any()


def test_failed_frames_are_counted_and_scored_at_chance(real):
    frames, recovery = real
    failed = [0, 5, 6, 7, 20]
    metrics, per_frame = evaluate(frames, perturbed(recovery, failed),
                                  reference_of(frames, recovery))
    for name in ("aed", "ard_deg", "aeld_px", "dai"):
        assert (metrics[f"{name}_frames"], metrics[f"{name}_failed"]) == (N, 5), name
    expressions = recovery.expressions
    chance = np.abs(expressions - expressions.mean(axis=0)).sum(axis=1)
    np.testing.assert_allclose(per_frame["aed"][failed], chance[failed])
    np.testing.assert_allclose(per_frame["aed"].drop(failed), 0.3)
    eyes = recovery.landmarks[:, EYES]
    at_chance = np.linalg.norm(eyes - eyes.mean(axis=0), axis=-1).mean(axis=1)
    np.testing.assert_allclose(per_frame["aeld_px"][failed], at_chance[failed])
    # DAI: a failed frame counts as the mean face (identity 0).
    identities = recovery.identities + 0.05
    identities[failed] = 0
    expected_dai = np.abs(recovery.identities.mean(axis=0) - identities.mean(axis=0)).sum()
    assert metrics["dai"] == pytest.approx(expected_dai)
    assert per_frame["fit_failed"].sum() == 5


def test_frames_without_a_known_reference_are_not_scored(real):
    frames, recovery = real
    gaps = perturbed(recovery, failed=[3, 4])  # the ground truth lost the face here
    metrics, per_frame = evaluate(frames, recovery, reference_of(frames, gaps))
    assert (metrics["aed_frames"], metrics["aed_failed"]) == (N - 2, 0)
    assert per_frame["aed"][[3, 4]].isna().all()


def test_conditioning_as_reference():
    cameras = np.array([[0.0, 0.1, 0.0, 100, 120, 5], [np.nan] * 6])
    table = make_table(cameras, np.zeros((2, 100)), np.full((2, 53), 0.5), np.array([True, False]))
    expected = Expected.of_conditioning(table, np.full((2, 14, 2), 100.0), scale=0.25)
    assert expected.known.tolist() == [True, False]
    assert np.isnan(expected.expressions[1]).all() and expected.eye_points[0, 0, 0] == 25.0
    assert expected.euler[0] == pytest.approx([0, np.degrees(0.1), 0])


def test_without_ground_truth_only_transfer_metrics(real):
    frames, recovery = real
    metrics, _ = evaluate(frames, recovery, reference_of(frames, recovery, with_truth=False))
    assert "apd" not in metrics and "warp_error_ratio" not in metrics
    assert metrics["warp_error"] > 0 and metrics["warp_error_frames"] == N - 1


def test_mouth_boxes_follow_the_mouth():
    landmarks = np.zeros((1, 70, 2))
    landmarks[0, 48:68] = [100, 150]
    assert mouth_boxes(landmarks, 256).tolist() == [[64, 114, 136, 186]]


def test_frame_counts_are_told_apart_from_the_scores():
    figures = {"aed": 0.5, "aed_frames": 100.0, "aed_failed": 3.0, "fid_dlib": 0.3,
               "fid_dlib_real_frames": 200.0, "frames": 100.0}
    assert counts(figures) == {"aed_frames": 100, "aed_failed": 3, "fid_dlib_real_frames": 200}
