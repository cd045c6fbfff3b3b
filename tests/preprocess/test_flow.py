"""Optical flow (DIS) and backward warping on synthetic images with a known motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from h2h.core.errors import H2HError
from h2h.preprocess.flow import clip_flows, compute_flow, load_flows, save_flows, warp

SIZE = 128
MARGIN = 24  # texture border around each crop, larger than any shift used here
INTERIOR = (slice(16, -16), slice(16, -16))


def _texture(seed: int = 0) -> np.ndarray:
    """Smooth random RGB texture, large enough to crop shifted windows from."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (SIZE + 2 * MARGIN, SIZE + 2 * MARGIN, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0) * 3 - 255, 0, 255).astype(np.uint8)


def _window(texture: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The crop whose content moved by (dx, dy): window(p) = crop0(p - (dx, dy))."""
    y0, x0 = MARGIN - dy, MARGIN - dx
    return texture[y0 : y0 + SIZE, x0 : x0 + SIZE].copy()


def test_flow_of_a_known_shift_and_warp_back():
    tex = _texture()
    a, b = _window(tex, 0, 0), _window(tex, 3, -2)
    flow = compute_flow(a, b)
    assert flow.dtype == np.float32 and flow.shape == (SIZE, SIZE, 2)
    median = np.median(flow[INTERIOR].reshape(-1, 2), axis=0)
    np.testing.assert_allclose(median, [3.0, -2.0], atol=0.5)

    err_before = np.abs(b[INTERIOR].astype(float) - a[INTERIOR]).mean()
    err_after = np.abs(warp(b, flow)[INTERIOR].astype(float) - a[INTERIOR]).mean()
    assert err_after < 2.0 < err_before / 10


def test_warp_with_integer_flow_is_an_exact_shift_and_keeps_dtype():
    tex = _texture(1)
    a, b = _window(tex, 0, 0), _window(tex, 3, -2)
    flow = np.zeros((SIZE, SIZE, 2), np.float32)
    flow[..., 0], flow[..., 1] = 3, -2
    out = warp(b, flow)
    assert out.dtype == np.uint8 and out.shape == a.shape
    np.testing.assert_array_equal(out[INTERIOR], a[INTERIOR])
    np.testing.assert_array_equal(warp(a, np.zeros_like(flow)), a)


def test_clip_flows_strides_and_dtype():
    tex = _texture(2)
    frames = np.stack([_window(tex, t, 0) for t in range(5)])  # 1 px per frame to the right
    flows = clip_flows(frames, strides=(2, 1))
    assert sorted(flows) == [1, 2]
    assert flows[1].shape == (4, SIZE, SIZE, 2) and flows[1].dtype == np.float16
    assert flows[2].shape == (3, SIZE, SIZE, 2)
    for stride, f in flows.items():
        median = np.median(f[:, 16:-16, 16:-16].astype(np.float32).reshape(-1, 2), axis=0)
        np.testing.assert_allclose(median, [stride, 0.0], atol=0.5)
    assert clip_flows(frames[:2], strides=(4,))[4].shape == (0, SIZE, SIZE, 2)


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    flows = {
        1: rng.normal(size=(3, 8, 8, 2)).astype(np.float16),
        2: np.zeros((2, 8, 8, 2), np.float16),
    }
    path = tmp_path / "sub" / "clip.npz"
    save_flows(path, flows)
    loaded = load_flows(path)
    assert sorted(loaded) == [1, 2]
    for s in flows:
        assert loaded[s].dtype == np.float16
        np.testing.assert_array_equal(loaded[s], flows[s])
    assert [p.name for p in path.parent.iterdir()] == ["clip.npz"]  # no temp file left behind


def test_user_errors(tmp_path):
    frame = _texture()[:SIZE, :SIZE]
    with pytest.raises(H2HError, match="unknown DIS preset"):
        compute_flow(frame, frame, preset="slow")
    with pytest.raises(H2HError, match="not found"):
        load_flows(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(H2HError, match="unreadable"):
        load_flows(tmp_path / "bad.npz")
    with pytest.raises(H2HError, match="positive"):
        clip_flows([frame, frame], strides=(0,))
