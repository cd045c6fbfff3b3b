"""A target's average identity: one set of identity coefficients for all its renders (paper 3.2).

Per-frame identity estimates scatter with pose, expression and landmark noise; the renders use
their robust average so that the target's face shape does not flicker and carries over to any
source. The average is a per-coefficient trimmed mean (``trim`` of the frames cut at each end):
frames with occlusions or extreme expressions fall in the cut tails, and the remaining ones are
averaged, which is less noisy than the median for the same robustness to a few bad frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from h2h.core.config import Section
from h2h.core.errors import H2HError
from h2h.face3d.fit_table import identities_of


@dataclass(frozen=True)
class IdentityParams(Section):
    """params.yaml's ``identity`` section (paper 3.2)."""

    name: ClassVar[str] = "identity"

    trim: float  # fraction of frames cut at each end of the per-coefficient trimmed mean


def robust_mean(samples: np.ndarray, trim: float) -> np.ndarray:
    """Per-column trimmed mean of (N, K) samples, cutting ``trim`` of N at each end."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or len(samples) == 0:
        raise ValueError(f"expected (N>0, K) samples, got shape {samples.shape}")
    if not 0.0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5), got {trim}")
    # scipy.stats.trim_mean's steps (partial sort, then the mean of the kept rows); importing
    # scipy.stats would cost the identity stage a second for these two lines.
    cut = int(trim * len(samples))
    kept = np.partition(samples, (cut, len(samples) - cut - 1), axis=0)
    return kept[cut:len(samples) - cut].mean(axis=0)


def average_identity(
    table: pd.DataFrame, trim: float, frames: Iterable[int] | None = None
) -> np.ndarray:
    """Robust mean of the ``id_*`` columns over the valid, measured (not interpolated) rows of a
    fit table, optionally only those whose ``frame`` is in ``frames`` (the training split)."""
    use = table["valid"].to_numpy(bool) & ~table["interpolated"].to_numpy(bool)
    if frames is not None:
        use &= table["frame"].isin(list(frames)).to_numpy()
    if not use.any():
        raise H2HError("no valid fitted frame to average the identity over")
    return robust_mean(identities_of(table)[use], trim)
