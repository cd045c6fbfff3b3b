import numpy as np
import pytest

from h2h.core.errors import H2HError
from h2h.face3d.fit_table import cameras_of, expressions_of, identities_of
from h2h.face3d.identity import average_identity
from h2h.face3d.preview import landmarks_68
from h2h.geometry.camera import project
from h2h.reenact.conditioning import MODES, ConditioningParams, OnlineConditioner, condition
from tests.support.params import PARAMS, TRIM

SIGMA = ConditioningParams.from_params(PARAMS).smooth_sigma


def _eyes(model, fit):
    """(N, 14, 2) eye points of the fitted model (outline + eye centre as pupil)."""
    cams, ids, exps = cameras_of(fit), identities_of(fit), expressions_of(fit)
    out = np.full((len(fit), 14, 2), np.nan)
    for i in np.flatnonzero(fit["valid"].to_numpy()):
        lm = landmarks_68(model, ids[i], exps[i], cams[i])
        out[i, :12] = lm[36:48]
        out[i, 12:] = lm[36:42].mean(0), lm[42:48].mean(0)
    return out


@pytest.fixture(scope="module")
def people(face_model, clips):
    target = clips["obama.mov"].fit.iloc[:50].reset_index(drop=True)  # "training split"
    test = clips["obama.mov"].fit.iloc[50:].reset_index(drop=True)  # "test split"
    source = clips["dpe_man.mp4"].fit.copy()
    source.loc[5, "valid"] = False  # one frame the source lost
    return target, test, source, average_identity(target, TRIM)


def test_head_mode_moves_the_source_head_into_the_target_frame(face_model, people):
    target, _, source, identity = people
    out = condition("head", source, target, identity, _eyes(face_model, source),
                    _eyes(face_model, target), SIGMA)
    table, eyes = out.table, out.eyes
    assert len(table) == len(source) and eyes.shape == (len(source), 14, 2)
    np.testing.assert_array_equal(table["frame"], source["frame"])
    valid = source["valid"].to_numpy()
    np.testing.assert_array_equal(table["valid"], valid)
    assert table.loc[5, "tx":"exp_52"].isna().all() and np.isnan(eyes[5]).all()
    cams, tgt = cameras_of(table)[valid], cameras_of(target)
    for k in (3, 4, 5):  # tx, ty, scale stay within what the target video shows
        assert tgt[:, k].min() - 1e-9 <= cams[:, k].min() and cams[:, k].max() <= tgt[:, k].max() + 1e-9
    np.testing.assert_allclose(cams[:, :3], cameras_of(source)[valid, :3])  # source rotations
    np.testing.assert_allclose(expressions_of(table)[valid], expressions_of(source)[valid])
    np.testing.assert_allclose(identities_of(table)[valid], np.tile(identity, (valid.sum(), 1)))
    # The eye points move exactly with the head: the source's projected eye vertices land on
    # the same vertices projected under the adapted camera.
    src_cams, ids, exps = cameras_of(source), identities_of(source), expressions_of(source)
    for i in (0, 30, 79):
        lm = face_model.shape(ids[i], exps[i])[face_model.landmarks_68[36:48]]
        np.testing.assert_allclose(project(lm, src_cams[i]), _eyes(face_model, source)[i, :12], atol=1e-6)
        np.testing.assert_allclose(eyes[i, :12], project(lm, cameras_of(table)[i]), atol=1e-3)


def test_head_mode_smoothing_calms_the_translation(face_model, people):
    target, _, source, identity = people
    eyes_s, eyes_t = _eyes(face_model, source), _eyes(face_model, target)
    raw = cameras_of(condition("head", source, target, identity, eyes_s, eyes_t, smooth_sigma=0).table)
    smooth = cameras_of(condition("head", source, target, identity, eyes_s, eyes_t, smooth_sigma=3).table)
    jitter = lambda c: np.nanstd(np.diff(c[:, 3]))  # noqa: E731
    assert jitter(smooth) < 0.7 * jitter(raw)


def test_face_mode_uses_the_target_cameras_and_eyes(face_model, people):
    target, _, source, identity = people
    tgt_eyes = _eyes(face_model, target)
    out = condition("face", source, target, identity, _eyes(face_model, source), tgt_eyes, SIGMA)
    table = out.table
    assert len(table) == len(source)  # longer than the target's 50 frames: cycled
    valid = table["valid"].to_numpy()
    cams, tgt = cameras_of(table)[valid], cameras_of(target)
    rows = [int(np.flatnonzero((tgt == c).all(1))[0]) for c in cams]
    np.testing.assert_allclose(out.eyes[valid], tgt_eyes[rows])
    # Ping-pong through the target frames: consecutive outputs are neighbouring target frames.
    steps = np.abs(np.diff(rows))
    assert set(steps) <= {0, 1, 2}  # 2 only across the dropped source frame
    np.testing.assert_allclose(expressions_of(table)[valid], expressions_of(source)[valid])


def test_self_mode_replays_the_test_split(face_model, people):
    target, test, _, identity = people
    test_eyes = _eyes(face_model, test)
    out = condition("self", test, target, identity, test_eyes, _eyes(face_model, target), SIGMA)
    assert len(out.table) == len(test)
    np.testing.assert_allclose(cameras_of(out.table), cameras_of(test))
    np.testing.assert_allclose(expressions_of(out.table), expressions_of(test))
    np.testing.assert_allclose(identities_of(out.table), np.tile(identity, (len(test), 1)))
    np.testing.assert_allclose(out.eyes, test_eyes, atol=1e-4)


def test_bad_mode_and_empty_inputs(face_model, people):
    target, _, source, identity = people
    eyes_s, eyes_t = _eyes(face_model, source), _eyes(face_model, target)
    assert MODES == ("head", "face", "self")
    with pytest.raises(H2HError, match="unknown reenactment mode"):
        condition("body", source, target, identity, eyes_s, eyes_t, SIGMA)
    lost = target.assign(valid=False)
    with pytest.raises(H2HError, match="target has no valid"):
        condition("head", source, lost, identity, eyes_s, eyes_t, SIGMA)


def _stream(conditioner, source, eyes):
    """Feed a fit table through an OnlineConditioner: (N, 6) cameras and (N, 14, 2) eyes, NaN
    where it returned nothing."""
    cams, out_eyes = np.full((len(source), 6), np.nan), np.full((len(source), 14, 2), np.nan)
    for i, (camera, points) in enumerate(zip(cameras_of(source), eyes)):
        if not source.loc[i, "valid"]:
            camera = np.full(6, np.nan)
        result = conditioner.step(camera, points)
        if result is not None:
            cams[i], out_eyes[i] = result
    return cams, out_eyes


def test_online_face_mode_streams_what_condition_computes(face_model, people):
    target, _, source, identity = people
    eyes_s, eyes_t = _eyes(face_model, source), _eyes(face_model, target)
    offline = condition("face", source, target, identity, eyes_s, eyes_t, SIGMA)
    cams, eyes = _stream(OnlineConditioner("face", target, eyes_t, SIGMA), source, eyes_s)
    valid = source["valid"].to_numpy()
    assert np.isnan(cams[~valid]).all()
    np.testing.assert_allclose(cams[valid], cameras_of(offline.table)[valid])
    np.testing.assert_allclose(eyes[valid], offline.eyes[valid], atol=1e-4)


def test_online_head_mode_uses_running_means(face_model, people):
    target, _, source, identity = people
    eyes_s, eyes_t = _eyes(face_model, source), _eyes(face_model, target)
    offline = condition("head", source, target, identity, eyes_s, eyes_t, smooth_sigma=0)
    cams, eyes = _stream(OnlineConditioner("head", target, eyes_t, smooth_sigma=0), source, eyes_s)
    valid = source["valid"].to_numpy()
    np.testing.assert_allclose(cams[valid, :3], cameras_of(source)[valid, :3])  # rotations kept
    tgt = cameras_of(target)
    assert (cams[valid, 3:] >= tgt[:, 3:].min(0) - 1e-9).all()
    assert (cams[valid, 3:] <= tgt[:, 3:].max(0) + 1e-9).all()
    # The first frame is its own mean: its head lands on the target's mean position and scale
    # (unless clipped); the last frame has seen the whole video: the offline adaptation.
    np.testing.assert_allclose(cams[0, 3:6], np.clip(
        np.r_[tgt[:, 3:5].mean(0), tgt[:, 5].mean()], tgt[:, 3:6].min(0), tgt[:, 3:6].max(0)))
    np.testing.assert_allclose(cams[-1], cameras_of(offline.table)[-1])
    np.testing.assert_allclose(eyes[-1], offline.eyes[-1], atol=1e-3)
    # Causal smoothing calms the translation as the offline Gaussian does.
    smooth, _ = _stream(OnlineConditioner("head", target, eyes_t, smooth_sigma=3), source, eyes_s)
    jitter = lambda c: np.nanstd(np.diff(c[:, 3]))  # noqa: E731
    assert jitter(smooth) < 0.7 * jitter(cams)


def test_online_conditioner_has_no_self_mode(face_model, people):
    target, _, _, _ = people
    with pytest.raises(H2HError, match="unknown reenactment mode 'self'; choose one of head, face"):
        OnlineConditioner("self", target, _eyes(face_model, target), SIGMA)
