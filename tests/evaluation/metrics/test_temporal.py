"""Flow-warping error on synthetic moving textures; FVD plumbing with a stand-in detector.

The real I3D detector cannot be tested here (no weights offline); a tiny TorchScript module with
the same call convention stands in for it, so loading, preprocessing, batching and the Frechet
distance of the features are all exercised.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from h2h.core.errors import H2HError
from h2h.evaluation.metrics.distributions import frechet_distance
from h2h.evaluation.metrics.fvd import (
    I3D_FILENAME,
    i3d_features,
    load_i3d,
    preprocess_clips,
    video_clips,
    video_features,
)
from h2h.evaluation.metrics.temporal import relative_warping_error, warping_error
from h2h.preprocess.flow import clip_flows

SIZE = 96


def _moving_texture(n: int = 6, seed: int = 0) -> np.ndarray:
    """A smooth random texture sliding 1 px right and 1 px down per frame."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (SIZE + 2 * n, SIZE + 2 * n, 3)).astype(np.float32)
    tex = np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0) * 3 - 255, 0, 255).astype(np.uint8)
    return np.stack([tex[n - t : n - t + SIZE, n - t : n - t + SIZE] for t in range(n)])


def test_warping_error_with_the_true_motion_is_small():
    video = _moving_texture()
    true_flows = np.ones((len(video) - 1, SIZE, SIZE, 2), np.float16)  # content moves (+1, +1)
    result = warping_error(video, true_flows)
    assert result.values.shape == (len(video) - 1,)
    # only the replicated first row and column differ
    assert result.mean < 2.0
    assert warping_error(video, np.zeros_like(true_flows)).mean > 10 * result.mean


def test_relative_warping_error_flags_flicker_and_a_still_head():
    real = _moving_texture()
    flows = clip_flows(real, strides=(1,))[1]
    floor = warping_error(real, flows).mean
    flicker = real.astype(np.int16) + np.array([0, 12, 0, 12, 0, 12], np.int16)[:, None, None, None]
    flicker = np.clip(flicker, 0, 255).astype(np.uint8)
    still = np.repeat(real[:1], len(real), axis=0)  # the generated head does not move
    ratio_flicker, per_pair = relative_warping_error(flicker, flows, floor)
    ratio_still, _ = relative_warping_error(still, flows, floor)
    assert ratio_flicker > 3.0 and ratio_still > 3.0
    assert per_pair.values.shape == (len(real) - 1,)
    assert np.isnan(relative_warping_error(flicker, flows, 0.0)[0])


def test_warping_error_checks_the_flow_count():
    video = _moving_texture()
    with pytest.raises(ValueError):
        warping_error(video, np.zeros((len(video), SIZE, SIZE, 2), np.float32))


class _StandInI3D(torch.nn.Module):
    """Per-clip channel means and spreads: a detector with I3D's call convention and checks."""

    def forward(
        self,
        x: torch.Tensor,
        rescale: bool = True,
        resize: bool = True,
        return_features: bool = False,
    ) -> torch.Tensor:
        assert not rescale and not resize and return_features
        assert x.shape[1] == 3 and x.shape[3] == 224 and x.shape[4] == 224
        assert bool(x.min() >= -1.0) and bool(x.max() <= 1.0)
        return torch.cat([x.mean(dim=(2, 3, 4)), x.std(dim=(2, 3, 4))], dim=1)


@pytest.fixture
def stand_in_detector(tmp_path):
    path = tmp_path / I3D_FILENAME
    with pytest.warns(DeprecationWarning):
        torch.jit.script(_StandInI3D()).save(str(path))
    return path


def _video(n: int, seed: int, brightness: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.integers(0, 200, (n, 24, 24, 3)) + brightness, 0, 255).astype(np.uint8)


def test_fvd_with_a_stand_in_detector(stand_in_detector):
    real = _video(16 * 6 + 5, seed=0)  # 6 clips, 5 frames dropped
    features = video_features(real, stand_in_detector)
    assert features.shape == (6, 6)  # per clip: 3 channel means and 3 spreads
    assert frechet_distance(features, video_features(real, stand_in_detector)) == pytest.approx(
        0.0, abs=1e-9)
    brighter = video_features(_video(16 * 5, seed=1, brightness=40), stand_in_detector)
    # Brighter by 40 of 255 in [-1, 1]: each channel mean moves by about 2 * 40 / 255.
    shift = brighter[:, :3].mean(axis=0) - features[:, :3].mean(axis=0)
    np.testing.assert_allclose(shift, 2 * 40 / 255, atol=0.02)
    assert frechet_distance(features, brighter) > 0.8 * 3 * (2 * 40 / 255) ** 2  # |shift|^2
    detector = load_i3d(stand_in_detector)
    np.testing.assert_allclose(i3d_features(video_clips(real), detector, batch_size=4), features,
                               rtol=1e-6)
    assert load_i3d(stand_in_detector) is detector  # loaded once per process


def test_clips_and_preprocessing():
    video = _video(40, seed=2)
    clips = video_clips(video)
    assert clips.shape == (2, 16, 24, 24, 3) and np.shares_memory(clips, video)
    with pytest.raises(H2HError, match="at least 16"):
        video_clips(video[:15])

    wide = np.zeros((1, 2, 32, 64, 3), np.uint8)
    wide[..., 12:52, :] = 255  # white beyond the centre 32x32 square (bilinear blur), black sides
    x = preprocess_clips(wide)
    assert x.shape == (1, 3, 2, 224, 224) and x.dtype == torch.float32
    assert torch.allclose(x, torch.ones_like(x))  # the centre crop left out the black sides
    black = preprocess_clips(np.zeros((1, 1, 8, 8, 3), np.uint8))
    assert torch.all(black == -1.0)


def test_missing_or_bad_detector_file_is_a_clear_error(tmp_path):
    with pytest.raises(H2HError, match=I3D_FILENAME) as err:
        load_i3d(tmp_path / I3D_FILENAME)
    assert "download" in str(err.value) and "dropbox.com" in str(err.value)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a TorchScript archive")
    with pytest.raises(H2HError, match="not a TorchScript"):
        load_i3d(bad)
