"""APD, MAPD and mouth APD on videos with known differences; the per-frame table."""

from __future__ import annotations

import numpy as np
import pytest

from h2h.evaluation.metrics.per_frame import PerFrame, frame_mean, per_frame_table
from h2h.evaluation.metrics.pixels import apd, mapd, mouth_apd


@pytest.fixture
def video() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(10, 240, size=(4, 32, 40, 3), dtype=np.uint8)


def test_apd_of_identical_videos_is_zero(video):
    result = apd(video, video.copy())
    assert result.mean == 0.0
    np.testing.assert_array_equal(result.values, np.zeros(4))


def test_apd_of_a_constant_rgb_offset_is_its_norm(video):
    fake = video + np.array([3, 4, 0], dtype=np.uint8)
    result = apd(video, fake)
    assert result.mean == pytest.approx(5.0)
    np.testing.assert_allclose(result.values, 5.0)
    assert apd(fake, video).mean == pytest.approx(5.0)  # symmetric, no uint8 wrap-around


def test_apd_per_frame_values(video):
    fake = video.copy()
    fake[1] += np.array([6, 8, 0], dtype=np.uint8)  # frame 1 off by 10, the rest exact
    result = apd(video, fake)
    np.testing.assert_allclose(result.values, [0, 10, 0, 0])
    assert result.mean == pytest.approx(2.5)


def test_mapd_counts_only_masked_pixels(video):
    fake = video.copy()
    mask = np.zeros(video.shape[:3], dtype=bool)
    mask[:, 8:16, 10:20] = True
    fake[~mask] = 255 - fake[~mask]  # large errors outside the mask only
    fake[mask] += np.array([0, 3, 4], dtype=np.uint8)
    assert mapd(video, fake, mask).mean == pytest.approx(5.0)
    assert apd(video, fake).mean > 50


def test_mapd_pools_pixels_and_skips_empty_masks(video):
    fake = video.copy()
    fake[0] += np.array([3, 4, 0], dtype=np.uint8)  # error 5 in frame 0, 0 in frame 1
    mask = np.zeros(video.shape[:3], dtype=bool)
    mask[0, :1, :30] = True  # 30 pixels in frame 0
    mask[1, :1, :10] = True  # 10 pixels in frame 1
    result = mapd(video, fake, mask)
    np.testing.assert_allclose(result.values[:2], [5.0, 0.0])
    assert np.isnan(result.values[2:]).all() and result.skipped == 2
    assert result.mean == pytest.approx(5.0 * 30 / 40)  # pixel-weighted, not (5 + 0) / 2


def test_mouth_apd_uses_the_box_of_each_frame(video):
    fake = video.copy()
    fake[:, 20:30, 5:15] += np.array([3, 4, 0], dtype=np.uint8)  # mouth area off by 5
    boxes = np.array(
        [
            [5, 20, 15, 30],  # exactly the changed area
            [5.4, 19.6, 14.6, 30.4],  # rounds to the same box
            [-10, 20, 15, 99],  # clipped to x 0..15, y 20..32: 180 px, of which 10 x 10 changed
            [np.nan, 0, 1, 1],  # no mouth found
        ]
    )
    result = mouth_apd(video, fake, boxes)
    np.testing.assert_allclose(result.values[:3], [5.0, 5.0, 5.0 * 100 / 180])
    assert np.isnan(result.values[3])
    assert result.mean == pytest.approx(5.0 * 300 / 380)


def test_shape_mismatch_is_refused(video):
    with pytest.raises(ValueError):
        apd(video, video[:3])
    with pytest.raises(ValueError):
        mapd(video, video, np.ones((4, 32, 41), bool))


def test_frame_mean_and_table():
    values = np.array([1.0, np.inf, 3.0, 5.0])
    metric = frame_mean(values, valid=np.array([True, True, True, False]))
    np.testing.assert_array_equal(np.isnan(metric.values), [False, True, False, True])
    assert metric.mean == 2.0 and metric.skipped == 2
    assert np.isnan(frame_mean(np.array([np.nan])).mean)

    pairs = PerFrame(np.array([0.5, 0.7]), 0.6)  # a metric over frame pairs: one value fewer
    table = per_frame_table({"apd": metric, "warp": pairs})
    assert list(table.columns) == ["frame", "apd", "warp"]
    assert table["frame"].tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(table["warp"].to_numpy(), [0.5, 0.7, np.nan, np.nan])
