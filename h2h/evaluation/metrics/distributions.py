"""Distances between two samples of feature vectors: Frechet distance (FID, FVD) and MMD^2.

The paper scores photo-realism with FID and MMD^2 of face features of real and generated frames
(Sec. 4.3) and temporal quality with FVD, the Frechet distance of video features (Sec. 4.4). The
feature extractors live in :mod:`h2h.evaluation.metrics.face_features` and :mod:`h2h.evaluation.metrics.fvd`; the
maths lives here so that it is tested on known distributions.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.spatial.distance import cdist, pdist

from h2h.core.errors import H2HError


def _features(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise H2HError(f"{what}: need at least 2 feature vectors (n, d), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise H2HError(f"{what}: features contain NaN or infinity")
    return x


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d, d) of (n, d) features: the Frechet distance's Gaussian."""
    x = _features(features, "Gaussian statistics")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance_from_stats(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Frechet distance of two Gaussians: |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    Safeguards as in the reference FID code: when fewer samples than dimensions leave the
    covariances singular, scipy.linalg.sqrtm can return non-finite values or a large imaginary
    part; then ``eps`` is added to both diagonals and the root recomputed. Remaining imaginary
    parts are rounding noise and are dropped.
    """
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    scale = max(np.abs(sigma1).max(), np.abs(sigma2).max(), 1e-12)
    if not np.isfinite(covmean).all() or np.abs(np.imag(covmean)).max() > 1e-3 * scale:
        offset = np.eye(len(sigma1)) * eps * scale
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between the Gaussians fitted to two (n, d) feature samples (FID/FVD).

    Needs more samples than dimensions for a full-rank covariance; with fewer the value is still
    defined (see :func:`frechet_distance_from_stats`) but noisy and biased upwards.
    """
    mu1, s1 = gaussian_stats(features_a)
    mu2, s2 = gaussian_stats(features_b)
    if mu1.shape != mu2.shape:
        raise H2HError(f"feature dimensions differ: {mu1.shape[0]} vs {mu2.shape[0]}")
    return frechet_distance_from_stats(mu1, s1, mu2, s2)


def median_bandwidth(x: np.ndarray) -> float:
    """Median heuristic: the median Euclidean distance between distinct points of one sample."""
    median = float(np.median(pdist(_features(x, "MMD^2 bandwidth sample"))))
    return median if median > 0 else 1.0


def mmd2(real: np.ndarray, fake: np.ndarray, bandwidth: float | None = None) -> float:
    """MMD^2 with a Gaussian kernel k(a, b) = exp(-|a - b|^2 / (2 s^2)).

    ``s`` defaults to the median heuristic on the *real* sample (:func:`median_bandwidth`), so
    every generated sample compared with one real sample is measured with the same kernel (a
    bandwidth from the pooled sample would widen the kernel for a more spread, worse generator
    and lower its score). The estimate is the squared distance between the two samples' mean
    kernel embeddings (the biased V-statistic of Gretton et al. 2012): never negative, zero
    exactly when the samples are equal, so "lower is better" ranks without the unbiased
    estimate's negative values around 0.
    """
    x, y = _features(real, "MMD^2 real sample"), _features(fake, "MMD^2 generated sample")
    if x.shape[1] != y.shape[1]:
        raise H2HError(f"feature dimensions differ: {x.shape[1]} vs {y.shape[1]}")
    s = median_bandwidth(x) if bandwidth is None else float(bandwidth)
    gamma = 1.0 / (2.0 * s * s)

    def mean_kernel(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.exp(-gamma * cdist(a, b, "sqeuclidean")).mean())

    return max(mean_kernel(x, x) + mean_kernel(y, y) - 2.0 * mean_kernel(x, y), 0.0)
