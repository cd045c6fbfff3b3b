"""The result of a frame-wise metric: a value per frame and one value for the whole video.

Evaluation writes the per-frame values as a CSV (for plots: where in the video does the
reenactment fail?) and the video-level value as a metric. Frames a metric cannot score (no face,
invalid landmarks, empty mask) hold NaN and are left out of the video-level value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PerFrame:
    """``values``: float64 (N,), NaN where the frame was skipped; ``mean``: the video's value."""

    values: np.ndarray
    mean: float

    @property
    def skipped(self) -> int:
        """Number of frames left out (NaN)."""
        return int(np.isnan(self.values).sum())


def frame_mean(values: np.ndarray, valid: np.ndarray | None = None) -> PerFrame:
    """:class:`PerFrame` whose video value is the mean over the frames that are valid and finite.

    A video with no scorable frame gets NaN rather than an exception: one failed variant must not
    stop the evaluation of the others, and NaN shows up plainly in the tables.
    """
    values = np.asarray(values, dtype=np.float64).copy()
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != values.shape:
            raise ValueError(f"valid flags {valid.shape} do not match the frames {values.shape}")
        values[~valid] = np.nan
    finite = np.isfinite(values)
    values[~finite] = np.nan
    return PerFrame(values, float(values[finite].mean()) if finite.any() else float("nan"))


def per_frame_table(metrics: Mapping[str, PerFrame]) -> pd.DataFrame:
    """One row per frame: column ``frame`` and one column per metric (NaN = skipped).

    Metrics over frame pairs (N - 1 values, e.g. the warping error of t -> t+1) are padded with NaN
    at the end so that row t describes frame t.
    """
    n = max((len(m.values) for m in metrics.values()), default=0)
    table = {"frame": np.arange(n)}
    for name, metric in metrics.items():
        column = np.full(n, np.nan)
        column[: len(metric.values)] = metric.values
        table[name] = column
    return pd.DataFrame(table)
