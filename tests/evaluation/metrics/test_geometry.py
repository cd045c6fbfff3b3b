"""AED, DAI, ARD and AELD on coefficient, angle and landmark arrays with known differences."""

from __future__ import annotations

import numpy as np
import pytest

from h2h.evaluation.metrics.geometry import EYE_POINTS, aed, aeld, angle_difference, ard, dai


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_aed_is_zero_against_itself_and_sums_abs_differences(rng):
    expr = rng.uniform(0, 1, size=(5, 53))
    assert aed(expr, expr.copy()).mean == 0.0
    fake = expr.copy()
    fake[:, 0] += 0.2
    fake[:, 1] -= 0.3
    fake[2, 2] += 1.0
    result = aed(expr, fake)
    np.testing.assert_allclose(result.values, [0.5, 0.5, 1.5, 0.5, 0.5])
    assert result.mean == pytest.approx(0.7)


def test_aed_skips_invalid_and_non_finite_frames(rng):
    expr = rng.uniform(0, 1, size=(4, 10))
    fake = expr + 0.1
    fake[1, 3] = np.nan  # failed fit
    fake[3] += 5.0  # flagged invalid below, must not count
    result = aed(expr, fake, valid=np.array([True, True, True, False]))
    assert result.skipped == 2
    assert result.mean == pytest.approx(1.0)


def test_dai_is_zero_against_itself_and_l1_of_mean_difference(rng):
    ident = rng.normal(size=(30, 100))
    assert dai(ident, ident) == 0.0
    other = rng.normal(size=(12, 100))  # frame counts may differ
    expected = np.abs(ident.mean(0) - other.mean(0)).sum()
    assert dai(ident, other) == pytest.approx(expected)
    shifted = ident + np.r_[0.5, -0.25, np.zeros(98)]
    assert dai(ident, shifted) == pytest.approx(0.75)
    with_failed_fit = np.vstack([shifted, np.full((1, 100), np.nan)])
    assert dai(ident, with_failed_fit) == pytest.approx(0.75)


def test_angle_difference_wraps():
    np.testing.assert_allclose(
        angle_difference(
            [359.0, 1.0, -170.0, 0.0, 90.0, 10.0], [1.0, 359.0, 170.0, 180.0, -90.0, 10.0]
        ),
        [2.0, 2.0, 20.0, 180.0, 180.0, 0.0],
    )


def test_ard_of_known_rotations_with_wrap_around():
    real = np.array([[0.0, 0.0, 0.0], [10.0, -5.0, 359.0], [179.0, 0.0, 0.0]])
    fake = np.array([[3.0, 0.0, 0.0], [10.0, -2.0, 1.0], [-179.0, 4.0, 0.0]])
    result = ard(real, fake)
    np.testing.assert_allclose(result.values, [1.0, 5.0 / 3, 2.0])  # mean over the 3 angles
    assert result.mean == pytest.approx((1.0 + 5.0 / 3 + 2.0) / 3)
    assert ard(real, real).mean == 0.0
    with pytest.raises(ValueError):
        ard(real[:, :2], fake[:, :2])


def test_aeld_known_shift_of_eye_points_only(rng):
    real = rng.uniform(0, 256, size=(4, 70, 2))
    fake = real.copy()
    fake[:, list(EYE_POINTS)] += [3.0, 4.0]  # eyes and pupils moved by 5 px
    fake[:, :36] += 50.0  # other points must not count
    result = aeld(real, fake)
    np.testing.assert_allclose(result.values, 5.0)
    assert aeld(real, real).mean == 0.0


def test_aeld_skips_frames_invalid_in_either_video(rng):
    real = rng.uniform(0, 256, size=(4, 70, 2))
    fake = real.copy()
    fake[0, list(EYE_POINTS)] += [0.0, 2.0]
    fake[1:, list(EYE_POINTS)] += [60.0, 80.0]
    result = aeld(
        real, fake, valid_real=[True, False, True, True], valid_fake=[True, True, False, True]
    )
    np.testing.assert_array_equal(np.isnan(result.values), [False, True, True, False])
    assert result.mean == pytest.approx((2.0 + 100.0) / 2)
