import numpy as np
import pytest

from h2h.evaluation.evaluate import Reference, evaluate, mouth_boxes, recover
from h2h.face3d.fit_table import expressions_of, identities_of
from h2h.media.video import read_video
from tests.support.params import FIT
from tests.support.project import VIDEOS


@pytest.fixture(scope="module")
def real(face_model):
    frames = read_video(VIDEOS / "obama.mov", start=300, count=30)
    return frames, recover(frames, face_model, FIT, landmark_upsample=0)


def reference_of(frames, recovery, with_truth=True):
    eyes = recovery.landmarks[:, [*range(36, 48), 68, 69]]
    return Reference(
        expressions=expressions_of(recovery.fit), euler=recovery.euler,
        valid=recovery.fit["valid"].to_numpy(bool), eye_points=eyes,
        identity=np.nanmean(identities_of(recovery.fit), axis=0), target_frames=frames,
        ground_truth=frames if with_truth else None,
        ground_truth_landmarks=recovery.landmarks if with_truth else None,
        nmfc=np.full_like(frames, 9) if with_truth else None)


def test_a_video_against_itself_scores_zero(real):
    frames, recovery = real
    metrics, per_frame = evaluate(frames, recovery, reference_of(frames, recovery))
    for name in ("apd", "mapd", "mouth_apd", "aed", "ard_deg", "aeld_px", "dai"):
        assert metrics[name] == pytest.approx(0, abs=1e-9), name
    assert metrics["warp_error_ratio"] == pytest.approx(1.0)
    # The unbiased MMD^2 of a sample against itself is slightly negative (the diagonal).
    assert metrics["fid_dlib"] < 1e-3 and abs(metrics["mmd2_dlib"]) < 0.05
    assert metrics["no_face_frames"] == 0
    assert len(per_frame) == 30 and {"apd", "aed", "ard_deg"} <= set(per_frame.columns)


def test_a_colour_shift_shows_in_the_pixel_metrics_only(real):
    frames, recovery = real
    shifted = np.clip(frames.astype(int) + [3, 4, 0], 0, 255).astype(np.uint8)
    metrics, _ = evaluate(shifted, recovery, reference_of(frames, recovery))
    unclipped = (frames[..., 0] <= 252) & (frames[..., 1] <= 251)
    assert metrics["apd"] == pytest.approx(5.0, abs=0.05) and unclipped.mean() > 0.99
    assert metrics["aed"] == 0  # the same recovery was passed: geometry is unchanged


def test_without_ground_truth_only_transfer_metrics(real):
    frames, recovery = real
    metrics, _ = evaluate(frames, recovery, reference_of(frames, recovery, with_truth=False))
    assert "apd" not in metrics and "warp_error" in metrics and metrics["aed"] == 0


def test_mouth_boxes_follow_the_mouth():
    landmarks = np.zeros((1, 70, 2))
    landmarks[0, 48:68] = [100, 150]
    assert mouth_boxes(landmarks, 256).tolist() == [[64, 114, 136, 186]]
