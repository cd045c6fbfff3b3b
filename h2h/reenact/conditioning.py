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
:class:`h2h.face3d.nmfc.NMFCRenderer` reads it like a fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

from h2h.core.config import Section
from h2h.core.errors import H2HError
from h2h.face3d.fit_table import cameras_of, expressions_of, make_table

MODES: tuple[str, ...] = ("head", "face", "self")
#: The modes driven by another person's video (``self`` replays the target's own test split).
SOURCE_MODES: tuple[str, ...] = ("head", "face")


@dataclass(frozen=True)
class ConditioningParams(Section):
    """params.yaml's ``conditioning`` section (paper 4.2)."""

    name: ClassVar[str] = "conditioning"

    smooth_sigma: float  # Gaussian smoothing (frames) of the adapted head-mode cameras


def check_mode(mode: str, modes: tuple[str, ...] = MODES) -> None:
    """Raise :class:`H2HError` unless ``mode`` is one of ``modes``."""
    if mode not in modes:
        raise H2HError(f"unknown reenactment mode {mode!r}; choose one of {', '.join(modes)}")


@dataclass(frozen=True)
class Conditioning:
    """Per output frame: the parameters to render and the eye points to draw."""

    table: pd.DataFrame  # fit-table layout, one row per source frame
    eyes: np.ndarray  # (N, 14, 2) h2h.preprocess.eyes.EYE_POINTS in output pixels, NaN where invalid


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


def _ping_pong(index: np.ndarray | int, n_in: int) -> np.ndarray:
    """Output frame ``index`` -> input 0, 1, .., n_in-1, n_in-2, .., 1, 0, 1, .. : cycling
    without a jump at the wrap."""
    if n_in == 1:
        return np.zeros_like(index, dtype=np.int64)
    period = 2 * (n_in - 1)
    k = np.asarray(index, np.int64) % period
    return np.where(k < n_in, k, period - k)


def _move_head(src: np.ndarray, src_scale: float, src_centre: np.ndarray, tgt_scale: float,
               tgt_centre: np.ndarray) -> np.ndarray:
    """Cameras (..., 6) of the source moved into the target's frame: scale times the ratio of
    the mean scales, translation about the source's mean scaled and re-centred on the
    target's mean. Rotations are kept."""
    ratio = tgt_scale / src_scale
    out = src.copy()
    out[..., 5] = src[..., 5] * ratio
    out[..., 3:5] = tgt_centre + ratio * (src[..., 3:5] - src_centre)
    return out


def adapt_head_cameras(
    source: pd.DataFrame, target: pd.DataFrame, smooth_sigma: float
) -> np.ndarray:
    """(N, 6) cameras for head reenactment: source rotations; the source's scale times the
    ratio of the two videos' mean scales; the source's translation about its mean, scaled by
    that ratio and re-centred on the target's mean. Scale and translation are smoothed over
    time (Gaussian, ``smooth_sigma`` frames; 0 = off) and clipped to the range the target
    video covers, so the head stays where the generator has seen it. Invalid source rows: NaN.
    """
    src_valid, tgt_valid = _valid(source, "source"), _valid(target, "target")
    src, tgt = cameras_of(source), cameras_of(target)[tgt_valid]
    out = _move_head(src, src[src_valid, 5].mean(), src[src_valid, 3:5].mean(0),
                     tgt[:, 5].mean(), tgt[:, 3:5].mean(0))
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


def _face_mode_rows(target: pd.DataFrame, target_eyes: np.ndarray) -> np.ndarray:
    """Target rows face mode cycles through: those with both a fit and eye landmarks."""
    rows = np.flatnonzero(_valid(target, "target") & np.isfinite(target_eyes).all((1, 2)))
    if len(rows) == 0:
        raise H2HError("the target has no frame with both a fit and eye landmarks")
    return rows


def condition(
    mode: str,
    source: pd.DataFrame,
    target: pd.DataFrame,
    target_identity: np.ndarray,
    source_eyes: np.ndarray,
    target_eyes: np.ndarray,
    smooth_sigma: float,
) -> Conditioning:
    """Conditioning for ``mode`` in :data:`MODES`, one row per ``source`` row.

    ``source`` / ``target``: fit tables (for ``self``, ``source`` is the target's test split);
    ``source_eyes`` / ``target_eyes``: their (N, 14, 2) eye points (:func:`h2h.preprocess.eyes.eye_points`);
    ``target_identity``: the target's average identity (:mod:`h2h.face3d.identity`).
    """
    check_mode(mode)
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
        tgt_rows = _face_mode_rows(target, target_eyes)
        pick = tgt_rows[_ping_pong(np.arange(n), len(tgt_rows))]
        cameras = cameras_of(target)[pick]
        eyes = np.asarray(target_eyes, np.float64)[pick]
    identities = np.tile(np.asarray(target_identity, np.float64), (n, 1))
    table = make_table(cameras, identities, expressions, src_valid, frames=source["frame"].to_numpy())
    table.loc[~src_valid, table.columns[3:]] = np.nan
    eyes = eyes.astype(np.float32)
    eyes[~src_valid] = np.nan
    return Conditioning(table=table, eyes=eyes)


class OnlineConditioner:
    """:func:`condition` for a live stream: one source frame in, its camera and eye points out,
    with no look-ahead (``head`` or ``face`` mode; the identity is the target's throughout).

    ``head``: the whole-video means of the source's scale and translation become running means
    over the valid frames seen so far, and the centred Gaussian smoothing becomes an
    exponential moving average with time constant ``smooth_sigma`` frames; the result is
    clipped to the target's range as offline. At the last frame of a video the running means
    are the whole-video means, so without smoothing that frame matches :func:`condition`.
    The source cameras and eye points may be in any pixel frame that stays the same over the
    stream (e.g. the full video frame, so that a moved crop box does not move the head).
    ``face``: the target's cameras and eye points in :func:`condition`'s order.
    """

    def __init__(self, mode: str, target: pd.DataFrame, target_eyes: np.ndarray,
                 smooth_sigma: float) -> None:
        check_mode(mode, SOURCE_MODES)
        if len(target_eyes) != len(target):
            raise ValueError("eye point arrays must have one row per table row")
        self.mode = mode
        cams = cameras_of(target)
        if mode == "head":
            tgt = cams[_valid(target, "target")]
            self._tgt_scale, self._tgt_centre = tgt[:, 5].mean(), tgt[:, 3:5].mean(0)
            self._lo, self._hi = tgt[:, 3:6].min(0), tgt[:, 3:6].max(0)
        else:
            rows = _face_mode_rows(target, target_eyes)
            self._cams = cams[rows]
            self._eyes = np.asarray(target_eyes, np.float64)[rows]
        self._alpha = 1.0 if smooth_sigma <= 0 else 1.0 - np.exp(-1.0 / smooth_sigma)
        self._index = 0
        self._count = 0
        self._sums = np.zeros(3)  # tx, ty, scale of the valid source frames so far
        self._smoothed: np.ndarray | None = None

    def step(self, camera: np.ndarray, eyes: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The camera (6,) and eye points (14, 2) to render for the next source frame, given
        its fitted ``camera`` and ``eyes``; None when the frame has no valid camera."""
        index = self._index
        self._index += 1
        camera = np.asarray(camera, np.float64)
        if not np.isfinite(camera).all():
            return None
        if self.mode == "face":
            k = int(_ping_pong(index, len(self._cams)))
            return self._cams[k].copy(), self._eyes[k].copy()
        self._count += 1
        self._sums += camera[3:6]
        mean = self._sums / self._count
        moved = _move_head(camera, mean[2], mean[:2], self._tgt_scale, self._tgt_centre)
        if self._smoothed is None:
            self._smoothed = moved[3:6].copy()
        else:
            self._smoothed += self._alpha * (moved[3:6] - self._smoothed)
        moved[3:6] = np.clip(self._smoothed, self._lo, self._hi)
        moved_eyes = adapt_eye_points(np.asarray(eyes, np.float64)[None], camera[None],
                                      moved[None])[0]
        return moved, moved_eyes
