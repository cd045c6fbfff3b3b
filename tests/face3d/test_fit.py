import importlib.util
from dataclasses import replace
from pathlib import Path

import dlib
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import lsq_linear

from h2h.core.errors import H2HError
from h2h.face3d.fit import FrameFitter, fit_video
from h2h.face3d.fit_table import (
    cameras_of,
    expressions_of,
    fill_short_gaps,
    identities_of,
    make_table,
    parameter_columns,
)
from h2h.face3d.identity import average_identity, robust_mean
from h2h.geometry.boxqp import solve_box_qp
from h2h.geometry.camera import project, to_image_space
from h2h.geometry.rotations import (
    euler_to_matrix,
    euler_to_rotvec,
    matrix_to_euler,
    rotation_angle_deg,
    rotvec_to_euler,
    rotvec_to_matrix,
)
from tests.support.params import FIT, TRIM

H = 256


# --- rotations and camera -------------------------------------------------------------------

def test_rotation_conversions_round_trip():
    rng = np.random.default_rng(0)
    euler = np.c_[rng.uniform(-60, 60, 50), rng.uniform(-80, 80, 50), rng.uniform(-60, 60, 50)]
    np.testing.assert_allclose(rotvec_to_euler(euler_to_rotvec(euler)), euler, atol=1e-9)
    r = euler_to_matrix(euler)
    np.testing.assert_allclose(r @ np.swapaxes(r, 1, 2), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    np.testing.assert_allclose(rotvec_to_matrix(euler_to_rotvec(euler)), r, atol=1e-12)
    np.testing.assert_allclose(matrix_to_euler(r), euler, atol=1e-9)
    assert rotation_angle_deg(r[0], r[0]) < 1e-6
    np.testing.assert_allclose(rotvec_to_matrix(np.zeros(3)), np.eye(3))


def test_euler_sign_conventions():
    face = np.array([0.0, 0.0, 1.0])  # the face looks at the camera (+z)
    up = np.array([0.0, 1.0, 0.0])
    assert (euler_to_matrix([20, 0, 0]) @ face)[1] < 0  # pitch > 0: looks down
    assert (euler_to_matrix([0, 20, 0]) @ face)[0] > 0  # yaw > 0: turns to the image right
    assert (euler_to_matrix([0, 0, 20]) @ up)[0] < 0  # roll > 0: top tilts to the image left


def test_projection_convention():
    pts = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    cam = [0.0, 0.0, 0.0, 100.0, 120.0, 10.0]
    np.testing.assert_allclose(project(pts, cam), [[100, 120], [110, 120], [100, 110], [100, 120]])
    np.testing.assert_allclose(to_image_space(pts, cam)[:, 2], [0, 0, 0, 10])


# --- solvers ----------------------------------------------------------------------------------

def test_box_qp_matches_bounded_least_squares():
    rng = np.random.default_rng(1)
    for _ in range(40):
        n = int(rng.integers(3, 70))
        a = rng.normal(size=(n + 40, n)) * np.exp(rng.normal(size=n))
        b = rng.normal(size=n + 40) * 3
        lo = np.where(rng.random(n) < 0.4, -np.inf, 0.0)
        hi = np.where(np.isinf(lo), np.inf, 1.0)
        h, g = a.T @ a + 1e-3 * np.eye(n), a.T @ b
        x = solve_box_qp(h, g, lo, hi)
        aa = np.vstack([a, np.sqrt(1e-3) * np.eye(n)])
        ref = lsq_linear(aa, np.r_[b, np.zeros(n)], bounds=(lo, hi), method="bvls", tol=1e-12).x
        f = lambda z: 0.5 * z @ h @ z - g @ z  # noqa: E731
        assert (x >= lo).all() and (x <= hi).all()
        assert f(x) <= f(ref) + 1e-9 * abs(f(ref))
        # A warm start changes nothing but the work.
        np.testing.assert_allclose(solve_box_qp(h, g, lo, hi, guess=ref), x, atol=1e-8)


def test_robust_mean_is_scipys_trimmed_mean_to_the_bit():
    """The identity stage's average must not change with the implementation: the same numbers
    as scipy.stats.trim_mean, which it replaces to spare the stage importing scipy.stats."""
    from scipy.stats import trim_mean

    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 37, 200):
        for trim in (0.0, 0.2, 0.4):
            samples = rng.normal(size=(n, 100)) * 3
            assert np.array_equal(robust_mean(samples, trim), trim_mean(samples, trim, axis=0))


def test_robust_mean_ignores_outlier_rows():
    rng = np.random.default_rng(2)
    samples = rng.normal(1.0, 0.1, size=(50, 4))
    samples[:5] = 100.0
    np.testing.assert_allclose(robust_mean(samples, 0.2), 1.0, atol=0.1)


# --- fit table --------------------------------------------------------------------------------

def _table(n: int, valid: np.ndarray) -> pd.DataFrame:
    t = np.arange(n, dtype=float)[:, None]
    cams = np.c_[t * 0.01, t * 0, t * 0, 100 + t, 120 - t, 5 + 0 * t]
    table = make_table(cams, np.tile(t, 100), np.tile(t / n, 53), valid)
    table.loc[~valid, parameter_columns()] = np.nan
    return table


def test_short_gaps_are_interpolated_and_long_gaps_stay_invalid():
    valid = np.ones(20, bool)
    valid[[0, 4, 5, 10, 11, 12, 13]] = False
    out = fill_short_gaps(_table(20, valid), max_gap=2)
    np.testing.assert_array_equal(out["interpolated"].to_numpy(),
                                  np.isin(np.arange(20), [0, 4, 5]))
    np.testing.assert_array_equal(out["valid"].to_numpy(), ~np.isin(np.arange(20), [10, 11, 12, 13]))
    np.testing.assert_allclose(out.loc[[4, 5], "tx"], [104, 105])
    np.testing.assert_allclose(out.loc[[4, 5], "id_7"], [4, 5])
    assert out.loc[0, "tx"] == out.loc[1, "tx"]  # a short gap at the start holds the first fit
    assert out.loc[[10, 13], "tx"].isna().all()


def test_average_identity_uses_valid_measured_frames_of_a_split():
    valid = np.ones(10, bool)
    valid[3] = False
    table = fill_short_gaps(_table(10, valid), 1)
    assert table.loc[3, "interpolated"]
    np.testing.assert_allclose(average_identity(table, 0.0, frames=[0, 1, 2, 3]), 1.0)
    np.testing.assert_allclose(average_identity(table, 0.0), np.mean([0, 1, 2, 4, 5, 6, 7, 8, 9]))
    with pytest.raises(H2HError):
        average_identity(table, TRIM, frames=[3])


# --- synthetic ground truth -------------------------------------------------------------------

def _synthetic(model, seed: int, n: int):
    """n frames of one random ICT person: pose, sparse expressions, 0.5 px noise. Returns the
    observed points, the noiseless image points (N, 468, 2), cameras, expressions, identity."""
    rng = np.random.default_rng(seed)
    fitted = FrameFitter(model, FIT).fitted
    m0, u, e = model.mediapipe_bases
    identity = rng.normal(size=100)
    exps = np.zeros((n, 53))
    for i in range(n):
        k = rng.choice(fitted, 8, replace=False)
        exps[i, k] = rng.uniform(0, 0.8, 8)
    euler = np.c_[rng.uniform(-15, 15, n), rng.uniform(-30, 30, n), rng.uniform(-10, 10, n)]
    cams = np.c_[euler_to_rotvec(euler), rng.uniform(118, 138, (n, 2)), rng.uniform(7, 9, n)]
    points = np.zeros((n, 468, 3))
    for i in range(n):
        q = to_image_space(m0 + np.tensordot(identity, u, 1) + np.tensordot(exps[i], e, 1), cams[i])
        points[i] = np.c_[q[:, 0], H - q[:, 1], q[:, 2]]  # Face Mesh's y-up camera frame
    clean = np.stack([points[:, :, 0], H - points[:, :, 1]], axis=-1)
    points[:, :, :2] += rng.normal(0, 0.5, (n, 468, 2))
    return points, clean, cams, exps, identity


def _mean_vertex_mm(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance between corresponding vertices of two ICT meshes (cm) in millimetres."""
    return float(np.linalg.norm(a - b, axis=-1).mean() * 10)


@pytest.mark.parametrize("seed", [0, 1])
def test_fit_recovers_synthetic_ground_truth(face_model, seed):
    points, clean, cams, exps, identity = _synthetic(face_model, seed, 40)
    table = fit_video(face_model, points, np.ones(len(points), bool), H, FIT)
    fitted = cameras_of(table)
    ids, fitted_exps = identities_of(table), expressions_of(table)
    angle = rotation_angle_deg(rotvec_to_matrix(fitted[:, :3]), rotvec_to_matrix(cams[:, :3]))
    # Expressions: small error, no shrinkage (regression slope near 1).
    free = FrameFitter(face_model, FIT).fitted
    error = np.abs(fitted_exps[:, free] - exps[:, free]).mean()
    slope = np.polyfit(exps[:, free].ravel(), fitted_exps[:, free].ravel(), 1)[0]
    # Shape: the fitted face (identity and expression of each frame) against the true one, and
    # the identity alone (neutral faces); the mean face is the baseline it must beat.
    vertices = np.mean([_mean_vertex_mm(face_model.shape(ids[i], fitted_exps[i]),
                                        face_model.shape(identity, exps[i])) for i in range(40)])
    neutral = np.mean([_mean_vertex_mm(face_model.shape(ids[i]), face_model.shape(identity))
                       for i in range(40)])
    baseline = _mean_vertex_mm(face_model.shape(), face_model.shape(identity))
    # Reprojection of the fitted model points, against the noiseless and the observed points.
    m0, u, e = face_model.mediapipe_bases
    projected = np.stack([project(m0 + np.tensordot(ids[i], u, 1)
                                  + np.tensordot(fitted_exps[i], e, 1), fitted[i])
                          for i in range(40)])
    to_truth = np.linalg.norm(projected - clean, axis=-1).mean(axis=1)
    observed = np.stack([points[:, :, 0], H - points[:, :, 1]], axis=-1)
    rms = np.sqrt(((projected - observed) ** 2).sum(-1).mean(axis=1))
    print(f"seed {seed}: rotation error max {angle.max():.2f} deg; expressions mean error "
          f"{error:.3f}, slope {slope:.2f}; vertices {vertices:.2f} mm, neutral {neutral:.2f} mm "
          f"(mean face {baseline:.2f} mm); reprojection {to_truth.mean():.2f} px from the "
          f"truth, rms {rms.mean():.2f} px from the observations")
    assert angle.max() < 1.0
    assert error < 0.06 and 0.85 < slope < 1.05
    assert vertices < 2.0 and neutral < 2.0 and neutral < 0.7 * baseline
    assert to_truth.max() < 0.35  # well below the 0.5 px noise per coordinate
    np.testing.assert_allclose(rms, table["rmse_px"], rtol=1e-6)  # as the table reports it
    assert 0.6 < rms.mean() < 0.8  # the noise's rms, sqrt(2) * 0.5 px: nothing left unfitted
    np.testing.assert_allclose(fitted[:, 3:5], cams[:, 3:5], atol=2.0)
    np.testing.assert_allclose(fitted[:, 5], cams[:, 5], rtol=0.03)


def test_missing_faces_are_interpolated_or_invalid(face_model):
    points = _synthetic(face_model, 3, 16)[0]
    found = np.ones(16, bool)
    found[[3, 8, 9, 10, 11]] = False
    points[~found] = np.nan
    table = fit_video(face_model, points, found, H, replace(FIT, max_gap=2))
    assert table.loc[3, "valid"] and table.loc[3, "interpolated"]
    assert np.isnan(table.loc[3, "rmse_px"])
    assert not table.loc[8:11, "valid"].any() and table.loc[8:11, "tx"].isna().all()
    assert list(table.columns[:3]) == ["frame", "valid", "interpolated"]
    assert list(table.columns[3:-1]) == parameter_columns() and table.columns[-1] == "rmse_px"
    with pytest.raises(H2HError, match="no face"):
        fit_video(face_model, points, np.zeros(16, bool), H, FIT)


# --- real video -------------------------------------------------------------------------------

def _dlib_68(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    models = Path(importlib.util.find_spec("face_recognition_models").submodule_search_locations[0])
    predictor = dlib.shape_predictor(str(models / "models" / "shape_predictor_68_face_landmarks.dat"))
    detector = dlib.get_frontal_face_detector()
    out, ok = np.full((len(frames), 68, 2), np.nan), np.zeros(len(frames), bool)
    for i, frame in enumerate(frames):
        boxes = detector(frame, 0)
        if boxes:
            shape = predictor(frame, boxes[0])
            out[i] = [(p.x, p.y) for p in shape.parts()]
            ok[i] = True
    return out, ok


def test_real_video_fit(face_model, clips):
    means = {}
    for name, clip in clips.items():
        fit = clip.fit
        assert clip.found.all() and fit["valid"].all()
        rmse = fit["rmse_px"].median()
        # Fitted depth agrees in sign with Face Mesh's w (a wrong z sign hides in 2-D fits).
        cams, ids, exps = cameras_of(fit), identities_of(fit), expressions_of(fit)
        shapes = [face_model.at_mediapipe(face_model.shape(ids[i], exps[i])) for i in range(0, len(fit), 20)]
        depth = np.concatenate([to_image_space(s, cams[i * 20])[:, 2] for i, s in enumerate(shapes)])
        w = np.concatenate([clip.points[i, :, 2] for i in range(0, len(fit), 20)])
        assert np.corrcoef(depth, w)[0, 1] > 0.8
        # 68 landmark vertices against dlib's 68 landmarks, jaw (0-16) excluded.
        dlib_pts, ok = _dlib_68(clip.frames)
        assert ok.mean() > 0.9
        ours = np.stack([project(face_model.shape(ids[i], exps[i])[face_model.landmarks_68], cams[i])
                         for i in np.flatnonzero(ok)])
        diff = (ours - dlib_pts[ok])[:, 17:]
        raw = np.median(np.linalg.norm(diff, axis=2))
        steady = np.median(np.linalg.norm(diff - diff.mean(0), axis=2))
        spread = np.linalg.norm(ids - ids.mean(0), axis=1).mean()
        print(f"{name}: rmse median {rmse:.2f} px; 68-landmark distance to dlib median raw "
              f"{raw:.2f} px, offset removed {steady:.2f} px; identity spread {spread:.2f}")
        assert rmse < 2.0
        assert raw < 4.0 and steady < 1.5
        means[name] = (ids.mean(0), spread)
    (mean_a, spread_a), (mean_b, spread_b) = means.values()
    between = np.linalg.norm(mean_a - mean_b)
    print(f"identity distance between the two people {between:.2f}")
    assert max(spread_a, spread_b) < 0.25 * between


def test_euler_angles_of_missing_fits_are_nan():
    from h2h.geometry.rotations import rotvec_to_euler

    angles = rotvec_to_euler(np.array([[0.0, 0.0, 0.0], [np.nan, 0.0, 0.0]]))
    assert np.allclose(angles[0], 0) and np.isnan(angles[1]).all()
