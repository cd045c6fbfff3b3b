"""The per-frame parameter table written by the fit and read by identity, nmfc and reenact.

One row per frame: ``frame`` (int), ``valid`` (bool), ``interpolated`` (bool), the camera
``rot_x, rot_y, rot_z, tx, ty, scale`` (see :mod:`h2h.geometry.camera`), ``id_0..id_99``,
``exp_0..exp_52`` and ``rmse_px`` (reprojection RMSE of the 468 Face Mesh points; NaN where the
row was interpolated or is invalid). Conditioning writes the same layout, so the renderer reads
either.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from h2h.core import gaps

CAMERA_COLUMNS: tuple[str, ...] = ("rot_x", "rot_y", "rot_z", "tx", "ty", "scale")
N_IDENTITY = 100
N_EXPRESSION = 53


def identity_columns(n: int = N_IDENTITY) -> list[str]:
    """Column names ``id_0 .. id_{n-1}``."""
    return [f"id_{i}" for i in range(n)]


def expression_columns(n: int = N_EXPRESSION) -> list[str]:
    """Column names ``exp_0 .. exp_{n-1}``."""
    return [f"exp_{i}" for i in range(n)]


def parameter_columns(n_id: int = N_IDENTITY, n_exp: int = N_EXPRESSION) -> list[str]:
    """Every numeric parameter column, in table order."""
    return list(CAMERA_COLUMNS) + identity_columns(n_id) + expression_columns(n_exp)


def make_table(
    cameras: np.ndarray,
    identities: np.ndarray,
    expressions: np.ndarray,
    valid: np.ndarray,
    rmse_px: np.ndarray | None = None,
    frames: np.ndarray | None = None,
) -> pd.DataFrame:
    """Assemble a table from (N, 6) cameras, (N, n_id) identities, (N, n_exp) expressions."""
    n = len(cameras)
    data = np.concatenate([cameras, identities, expressions], axis=1).astype(np.float64)
    table = pd.DataFrame(data, columns=parameter_columns(identities.shape[1], expressions.shape[1]))
    table.insert(0, "frame", np.arange(n) if frames is None else np.asarray(frames, np.int64))
    table.insert(1, "valid", np.asarray(valid, bool))
    table.insert(2, "interpolated", np.zeros(n, bool))
    table["rmse_px"] = np.full(n, np.nan) if rmse_px is None else np.asarray(rmse_px, np.float64)
    return table


def cameras_of(table: pd.DataFrame) -> np.ndarray:
    """(N, 6) camera parameters."""
    return table[list(CAMERA_COLUMNS)].to_numpy(np.float64)


def identities_of(table: pd.DataFrame) -> np.ndarray:
    """(N, n_id) identity coefficients."""
    return table.filter(regex=r"^id_\d+$").to_numpy(np.float64)


def expressions_of(table: pd.DataFrame) -> np.ndarray:
    """(N, n_exp) expression coefficients."""
    return table.filter(regex=r"^exp_\d+$").to_numpy(np.float64)


def fill_short_gaps(table: pd.DataFrame, max_gap: int) -> pd.DataFrame:
    """Interpolate every parameter over runs of at most ``max_gap`` invalid frames (see
    :func:`h2h.core.gaps.fill_short_gaps`); those rows become ``valid`` and ``interpolated``.

    Rotation vectors are interpolated component-wise: exact enough over a few frames of a head
    that turns by a few degrees per frame.
    """
    out = table.copy()
    cols = parameter_columns(identities_of(out).shape[1], expressions_of(out).shape[1])
    filled = gaps.fill_short_gaps(out[cols].to_numpy(np.float64), out["valid"].to_numpy(bool),
                                  max_gap)
    out[cols] = filled.values
    out["valid"] = filled.valid
    out["interpolated"] = out["interpolated"].to_numpy(bool) | filled.interpolated
    return out
