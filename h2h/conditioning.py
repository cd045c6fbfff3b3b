"""Reenactment conditioning (paper 4.2): which identity, expressions, cameras and eye points
drive each output frame, for a target (the trained person) and a source (the driver).

- ``head``: source expressions, rotations and eyes; the source's head motion moved into the
  target's frame (scale and translation adapted, smoothed, kept within the target's range).
- ``face``: source expressions only; cameras and eye landmarks are the target's own, from the
  frames passed as ``target`` (the paper uses the target's *training* sequence, whose poses
  the generator knows best: pass the training split).
- ``self``: the source is the target's test split; its cameras, expressions and eyes are used
  as they are, which makes the ground truth frames comparable to the output.

Every mode renders the target's average identity. The result has the fit-table layout, so
:class:`h2h.render.NMFCRenderer` reads it like a fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

from h2h.errors import H2HError
from h2h.fit_table import cameras_of, expressions_of, make_table

MODES: tuple[str, ...] = ("head", "face", "self")


@dataclass(frozen=True)
class Conditioning:
    """Per output frame: the parameters to render and the eye points to draw."""

    table: pd.DataFrame  # fit-table layout, one row per source frame
    eyes: np.ndarray  # (N, 14, 2) h2h.eyes.EYE_POINTS in output pixels, NaN where invalid


def _valid(table: pd.DataFrame, who: str) -> np.ndarray:
    valid = table["valid"].to_numpy(bool)
    if not valid.any():
        raise H2HError(f"the {who} has no valid fitted frame")
    return valid


def _smooth(values: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over time of (N, K) values, ignoring invalid rows (filled by linear
    interpolation for the filter, NaN again after). A Gaussian is a convex average, so it
    never leaves the range of its input (a Savitzky-Golay filter can overshoot)."""
    out = values.copy()
    if sigma <= 0:
        return out
    idx = np.flatnonzero(valid)
    filled = np.stack(
        [np.interp(np.arange(len(values)), idx, values[idx, k]) for k in range(values.shape[1])], 1
    )
    out[valid] = gaussian_filter1d(filled, sigma, axis=0, mode="nearest")[valid]
    return out


def _ping_pong(n_out: int, n_in: int) -> np.ndarray:
    """Indices 0, 1, .., n_in-1, n_in-2, .., 1, 0, 1, .. : cycling without a jump at the wrap."""
    if n_in == 1:
        return np.zeros(n_out, np.int64)
    period = 2 * (n_in - 1)
    k = np.arange(n_out) % period
    return np.where(k < n_in, k, period - k)


def adapt_head_cameras(
    source: pd.DataFrame, target: pd.DataFrame, smooth_sigma: float = 2.0
) -> np.ndarray:
    """(N, 6) cameras for head reenactment: source rotations; the source's scale times the
    ratio of the two videos' mean scales; the source's translation about its mean, scaled by
    that ratio and re-centred on the target's mean. Scale and translation are smoothed over
    time (Gaussian, ``smooth_sigma`` frames; 0 = off) and clipped to the range the target
    video covers, so the head stays where the generator has seen it. Invalid source rows: NaN.
    """
    src_valid, tgt_valid = _valid(source, "source"), _valid(target, "target")
    src, tgt = cameras_of(source), cameras_of(target)[tgt_valid]
    ratio = tgt[:, 5].mean() / src[src_valid, 5].mean()
    out = src.copy()
    out[:, 5] = src[:, 5] * ratio
    out[:, 3:5] = tgt[:, 3:5].mean(0) + ratio * (src[:, 3:5] - src[src_valid, 3:5].mean(0))
    out[:, 3:6] = _smooth(out[:, 3:6], src_valid, smooth_sigma)
    out[:, 3:6] = np.clip(out[:, 3:6], tgt[:, 3:6].min(0), tgt[:, 3:6].max(0))
    out[~src_valid] = np.nan
    return out


def adapt_eye_points(
    eyes: np.ndarray, source_cameras: np.ndarray, adapted_cameras: np.ndarray
) -> np.ndarray:
    """Move (N, 14, 2) source eye points with the head: the same scale about the projected
    model origin and the same translation as the camera adaptation, i.e.
    ``p' = (s' / s) * (p - t) + t'`` per frame."""
    s = source_cameras[:, 5][:, None, None]
    s_new = adapted_cameras[:, 5][:, None, None]
    t = source_cameras[:, None, 3:5]
    t_new = adapted_cameras[:, None, 3:5]
    return (s_new / s) * (eyes - t) + t_new


def condition(
    mode: str,
    source: pd.DataFrame,
    target: pd.DataFrame,
    target_identity: np.ndarray,
    source_eyes: np.ndarray,
    target_eyes: np.ndarray,
    smooth_sigma: float = 2.0,
) -> Conditioning:
    """Conditioning for ``mode`` in :data:`MODES`, one row per ``source`` row.

    ``source`` / ``target``: fit tables (for ``self``, ``source`` is the target's test split);
    ``source_eyes`` / ``target_eyes``: their (N, 14, 2) eye points (:func:`h2h.eyes.eye_points`);
    ``target_identity``: the target's average identity (:mod:`h2h.identity`).
    """
    if mode not in MODES:
        raise H2HError(f"unknown reenactment mode {mode!r}; choose one of {', '.join(MODES)}")
    if len(source_eyes) != len(source) or len(target_eyes) != len(target):
        raise ValueError("eye point arrays must have one row per table row")
    src_valid = _valid(source, "source")
    n = len(source)
    expressions = expressions_of(source)
    if mode == "self":
        cameras, eyes = cameras_of(source), np.array(source_eyes, np.float64)
    elif mode == "head":
        cameras = adapt_head_cameras(source, target, smooth_sigma)
        eyes = adapt_eye_points(np.asarray(source_eyes, np.float64), cameras_of(source), cameras)
    else:
        tgt_rows = np.flatnonzero(_valid(target, "target") & np.isfinite(target_eyes).all((1, 2)))
        if len(tgt_rows) == 0:
            raise H2HError("the target has no frame with both a fit and eye landmarks")
        pick = tgt_rows[_ping_pong(n, len(tgt_rows))]
        cameras = cameras_of(target)[pick]
        eyes = np.asarray(target_eyes, np.float64)[pick]
    identities = np.tile(np.asarray(target_identity, np.float64), (n, 1))
    table = make_table(cameras, identities, expressions, src_valid, frames=source["frame"].to_numpy())
    table.loc[~src_valid, table.columns[3:]] = np.nan
    eyes = eyes.astype(np.float32)
    eyes[~src_valid] = np.nan
    return Conditioning(table=table, eyes=eyes)
