"""Geometric metrics from 3D fits and landmarks (paper Sec. 4.3-4.4, Tables 1, 2, 4, 5).

AED, DAI and ARD compare the 3D face fits of two videos (the fit stage's expression and identity
coefficients and head rotation), AELD the eye landmarks of the landmarks stage.

L1 distances are sums over the coefficients (the L1 norm of the difference vector), as the
paper's wording ("L1-distance") and its authors' reference evaluation code do. The paper's values
(AED ~0.5, DAI ~9) come from its own 3DMM; ours uses the ICT-FaceKit basis (53 blendshape weights
in [0, 1], 100 identity coefficients ~ N(0, 1)), so the numbers are comparable between our own
variants but not with the paper's tables.

Frames are skipped (NaN per frame, left out of the mean) when flagged invalid or when any of their
values is not finite.
"""

from __future__ import annotations

import numpy as np

from h2h.evaluation.metrics.per_frame import PerFrame, frame_mean
from h2h.preprocess.eyes import EYE_POINTS


def _check_pair(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes differ, {a.shape} vs {b.shape}")
    return a, b


def aed(expr_real: np.ndarray, expr_fake: np.ndarray, valid: np.ndarray | None = None) -> PerFrame:
    """Average expression distance: per frame the L1 norm of the difference of the (N, K)
    expression coefficient vectors, averaged over frames."""
    a, b = _check_pair(expr_real, expr_fake, "expression coefficients")
    return frame_mean(np.abs(a - b).sum(axis=1), valid)


def dai(identity_a: np.ndarray, identity_b: np.ndarray) -> float:
    """Distance between average identities: L1 norm of the difference of the mean identity
    coefficient vectors of two videos ((Na, K) and (Nb, K); frame counts may differ).

    Rows with a non-finite value (failed fits) are left out of each average.
    """
    means = []
    for ident in (identity_a, identity_b):
        ident = np.asarray(ident, dtype=np.float64)
        rows = ident[np.isfinite(ident).all(axis=1)]
        if not len(rows):
            return float("nan")
        means.append(rows.mean(axis=0))
    if means[0].shape != means[1].shape:
        raise ValueError(f"identity vectors differ in length: {means[0].shape} vs {means[1].shape}")
    return float(np.abs(means[0] - means[1]).sum())


def angle_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Absolute difference of angles in degrees on the circle, in [0, 180]: 359 vs 1 is 2."""
    return np.abs((np.asarray(a, dtype=np.float64) - b + 180.0) % 360.0 - 180.0)


def ard(
    euler_real: np.ndarray, euler_fake: np.ndarray, valid: np.ndarray | None = None
) -> PerFrame:
    """Average rotation distance in degrees: per frame the mean over the three Euler angles
    ((N, 3), degrees) of the wrap-aware absolute difference, averaged over frames.

    Mean over the angles (not sum), as the paper's reference code does; the paper reports ~0.4 deg.
    """
    a, b = _check_pair(euler_real, euler_fake, "Euler angles")
    if a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"expected Euler angles (N, 3), got {a.shape}")
    return frame_mean(angle_difference(a, b).mean(axis=1), valid)


def aeld(
    landmarks_real: np.ndarray,
    landmarks_fake: np.ndarray,
    valid_real: np.ndarray | None = None,
    valid_fake: np.ndarray | None = None,
) -> PerFrame:
    """Average eye landmarks distance in pixels: per frame the mean L2 distance over the 12 eye
    contour points (36-47) and the two pupils (68, 69) of (N, 70, 2) landmarks, averaged over the
    frames valid in both videos."""
    a, b = _check_pair(landmarks_real, landmarks_fake, "landmarks")
    if a.ndim != 3 or a.shape[1:] != (70, 2):
        raise ValueError(f"expected landmarks (N, 70, 2), got {a.shape}")
    eyes = list(EYE_POINTS)
    per_frame = np.linalg.norm(a[:, eyes] - b[:, eyes], axis=-1).mean(axis=1)
    valid = np.ones(len(a), dtype=bool)
    for flags in (valid_real, valid_fake):
        if flags is not None:
            valid &= np.asarray(flags, dtype=bool)
    return frame_mean(per_frame, valid)
