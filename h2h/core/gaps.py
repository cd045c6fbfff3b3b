"""Filling short runs of missing per-frame values (lost detections, failed fits).

Short gaps are linearly interpolated between the valid frames around them and flagged, so that
consumers can tell measured values from filled ones; long gaps stay missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FilledSeries:
    values: np.ndarray  # (N, ...) with NaN where still missing
    valid: np.ndarray  # (N,) bool: measured or interpolated
    interpolated: np.ndarray  # (N,) bool: filled by interpolation


def missing_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges [start, stop) of consecutive invalid frames."""
    invalid = np.concatenate([[False], ~np.asarray(valid, bool), [False]])
    edges = np.flatnonzero(np.diff(invalid.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def fill_short_gaps(values: np.ndarray, valid: np.ndarray, max_gap: int) -> FilledSeries:
    """Interpolate runs of at most ``max_gap`` invalid frames lying between two valid frames.

    Runs touching the start or end of the sequence are held at the nearest valid value when they
    are short enough (there is nothing to interpolate towards).
    """
    valid = np.asarray(valid, bool)
    values = np.array(values, dtype=np.float64, copy=True)
    values[~valid] = np.nan
    interpolated = np.zeros_like(valid)
    n = len(valid)
    if not valid.any():
        return FilledSeries(values, valid.copy(), interpolated)
    for start, stop in missing_runs(valid):
        if stop - start > max_gap:
            continue
        if start == 0:
            values[start:stop] = values[stop]
        elif stop == n:
            values[start:stop] = values[start - 1]
        else:
            weights = (np.arange(start, stop) - (start - 1)) / (stop - (start - 1))
            shape = (-1,) + (1,) * (values.ndim - 1)
            weights = weights.reshape(shape)
            values[start:stop] = (1 - weights) * values[start - 1] + weights * values[stop]
        interpolated[start:stop] = True
    return FilledSeries(values, valid | interpolated, interpolated)
