"""The trivial renderers a trained generator is compared with: mean and nearest training frame."""

from __future__ import annotations

import numpy as np
import pytest

from h2h.evaluation.baselines import (
    mean_baseline,
    mean_frame,
    nearest_frames,
    nearest_neighbour_baseline,
)
from h2h.evaluation.metrics.pixels import apd


def test_the_mean_baseline_of_a_constant_video_is_exact():
    frame = np.random.default_rng(0).integers(0, 256, (8, 6, 3), dtype=np.uint8)
    video = np.repeat(frame[None], 5, axis=0)
    baseline = mean_baseline(video, 3)
    assert baseline.shape == (3, 8, 6, 3) and baseline.dtype == np.uint8
    assert np.array_equal(baseline[2], frame)
    assert apd(np.repeat(frame[None], 3, axis=0), baseline).mean == 0.0


def test_mean_frame_rounds_the_per_pixel_mean():
    video = np.array([0, 1, 1, 255], np.uint8).reshape(4, 1, 1, 1).repeat(3, axis=-1)
    assert mean_frame(video)[0, 0].tolist() == [64, 64, 64]  # 257 / 4 = 64.25
    assert mean_frame(video[:2])[0, 0, 0] == 0  # 0.5 rounds to even
    with pytest.raises(ValueError):
        mean_frame(video[:0])


def test_the_nearest_neighbour_picks_the_frame_with_the_identical_nmfc():
    rng = np.random.default_rng(1)
    nmfc = rng.integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    real = rng.integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    order = np.array([7, 0, 19, 7, 3])
    frames, picked = nearest_neighbour_baseline(real, nmfc, nmfc[order])
    assert picked.tolist() == order.tolist()
    assert np.array_equal(frames, real[order])


def test_the_nearest_neighbour_is_exact_where_float32_would_not_be():
    # Two keys differ from the query by 1 and 2 in one value of 196608 near 255: the squared
    # norms (about 1.3e10) are far beyond float32's integer precision.
    query = np.full((1, 256, 256, 3), 250, np.uint8)
    keys = np.repeat(query, 3, axis=0)
    keys[0, 0, 0, 0] = 252
    keys[1, 5, 5, 1] = 249
    keys[2] = 0
    assert nearest_frames(query, keys).tolist() == [1]
    assert nearest_frames(keys[:1], keys, chunk=1).tolist() == [0]


def test_the_baselines_reject_mismatched_inputs():
    a = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="differ in size"):
        nearest_frames(a, np.zeros((4, 8, 6, 3), np.uint8))
    with pytest.raises(ValueError, match="training frames"):
        nearest_neighbour_baseline(a, a[:3], a)
    with pytest.raises(ValueError, match="uint8"):
        nearest_frames(a.astype(np.float32), a)
