"""Frechet distance and MMD^2 on samples of known Gaussian distributions."""

from __future__ import annotations

import numpy as np
import pytest

from h2h.core.errors import H2HError
from h2h.evaluation.metrics.distributions import (
    frechet_distance,
    frechet_distance_from_stats,
    median_bandwidth,
    mmd2,
)

SHIFTS = (0.0, 0.25, 0.5, 1.0, 2.0)


def _samples(shift: float, seed: int, n: int = 1000, d: int = 8) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d))
    x[:, 0] += shift
    return x


def test_frechet_distance_of_known_gaussians():
    mu1, mu2 = np.array([0.0, 0.0]), np.array([3.0, 4.0])
    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    # |mu1-mu2|^2 + tr(S1 + S2 - 2 sqrt(S1 S2)) = 25 + 10 - 2 * (2 + 2)
    assert frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(27.0)
    assert frechet_distance_from_stats(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_fid_is_near_zero_for_one_distribution_and_grows_with_a_mean_shift():
    base = _samples(0.0, seed=0)
    assert frechet_distance(base, base) == pytest.approx(0.0, abs=1e-8)
    values = [frechet_distance(base, _samples(s, seed=1)) for s in SHIFTS]
    assert values[0] < 0.05
    assert all(a < b for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(4.0, rel=0.1)  # the squared mean shift dominates


def test_fid_survives_fewer_samples_than_dimensions():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(20, 64)) + 1.0
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value > 64  # at least the squared mean shift


def test_mmd2_is_zero_for_one_sample_and_grows_with_a_mean_shift():
    base = _samples(0.0, seed=0, n=400)
    assert mmd2(base, base) == 0.0
    values = [mmd2(base, _samples(s, seed=1, n=400)) for s in SHIFTS]
    assert 0 < values[0] < 5e-3  # two samples of one distribution: the estimate's bias only
    assert all(a < b for a, b in zip(values, values[1:]))
    assert values[-1] > 0.05


def test_mmd2_matches_a_direct_computation_with_the_real_samples_bandwidth():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) * 3 + 0.5
    s = median_bandwidth(x)
    within = np.linalg.norm(x[:, None] - x[None], axis=-1)
    assert s == pytest.approx(np.median(within[np.triu_indices(7, 1)]))
    pooled = np.concatenate([x, y])
    k = np.exp(-np.linalg.norm(pooled[:, None] - pooled[None], axis=-1) ** 2 / (2 * s * s))
    expected = k[:7, :7].mean() + k[7:, 7:].mean() - 2 * k[:7, 7:].mean()
    assert mmd2(x, y) == pytest.approx(expected)
    # The generated sample's spread does not widen the kernel: a wider y is measured with the
    # same bandwidth.
    assert mmd2(x, y * 2) == pytest.approx(mmd2(x, y * 2, bandwidth=s))
    assert mmd2(x, y, bandwidth=2 * s) != pytest.approx(expected)


def test_too_few_or_bad_samples_are_user_errors():
    with pytest.raises(H2HError, match="at least 2"):
        frechet_distance(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(H2HError, match="dimensions differ"):
        mmd2(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(H2HError, match="NaN"):
        mmd2(np.full((3, 4), np.nan), np.zeros((3, 4)))
