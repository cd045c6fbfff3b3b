"""Mouth crops for D_M, condition layout, D_D temporal sampling."""

import numpy as np
import pytest
import torch

from h2h.nn.regions import crop_regions, make_conditions, mouth_centres, mouth_crop_size
from h2h.nn.temporal import (
    dynamics_inputs,
    min_sequence_length,
    temporal_strides,
    temporal_window_indices,
)


def test_mouth_crop_size_scales_with_resolution():
    assert [mouth_crop_size(h) for h in (256, 128, 512, 64)] == [72, 36, 144, 18]


def test_mouth_centres_average_points_48_to_67():
    lm = np.zeros((2, 70, 2), np.float32)
    lm[:, 48:68] = np.arange(20, dtype=np.float32)[None, :, None]  # mean 9.5
    lm[:, :48] = lm[:, 68:] = 1000  # other points must not count
    assert np.allclose(mouth_centres(lm), 9.5)
    assert torch.allclose(mouth_centres(torch.from_numpy(lm)), torch.full((2, 2), 9.5))


def test_crop_returns_the_region_around_each_centre():
    # Pixel value encodes its position: value = 1000 * y + x in channel 0, per-image offset in 1.
    h, w = 40, 50
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    grid = (1000 * ys + xs).float()
    images = torch.stack([torch.stack([grid, torch.full_like(grid, i)]) for i in range(3)])
    centres = torch.tensor([[20.0, 15.0], [2.0, 3.0], [49.0, 39.0]])
    crops = crop_regions(images, centres, 10)
    assert crops.shape == (3, 2, 10, 10)
    assert torch.equal(crops[:, 1, 0, 0], torch.tensor([0.0, 1.0, 2.0]))  # batch order kept
    top_left = crops[:, 0, 0, 0]
    # Centred: corner = centre - 5. Near the borders the box is shifted to stay inside.
    assert top_left.tolist() == [1000 * 10 + 15, 0, 1000 * 30 + 40]
    assert torch.equal(crops[0, 0], grid[10:20, 15:25])


def test_crop_keeps_gradients_and_rejects_oversized_boxes():
    images = torch.rand(2, 3, 16, 16, requires_grad=True)
    crop_regions(images, torch.full((2, 2), 8.0), 4).sum().backward()
    assert images.grad.sum() == 2 * 3 * 4 * 4
    with pytest.raises(ValueError, match="exceeds"):
        crop_regions(images, torch.full((2, 2), 8.0), 17)


def test_make_conditions_stacks_nmfc_then_eyes():
    nmfc, eyes = torch.zeros(2, 4, 3, 8, 8), torch.ones(2, 4, 3, 8, 8)
    x = make_conditions(nmfc, eyes)
    assert x.shape == (2, 4, 6, 8, 8) and x[:, :, :3].sum() == 0 and x[:, :, 3:].min() == 1
    assert make_conditions(nmfc, None) is nmfc


def test_temporal_strides_and_window_indices():
    assert temporal_strides(3, 2) == [1, 2, 4]
    assert temporal_strides(3, 3) == [1, 3, 9]
    assert min_sequence_length(3, 2) == 9
    assert temporal_window_indices(9, 4).tolist() == [[0, 4, 8]]
    assert temporal_window_indices(9, 2).tolist() == [[i, i + 2, i + 4] for i in range(5)]
    assert temporal_window_indices(9, 1, step=3).tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert temporal_window_indices(8, 4).shape == (0, 3)


def test_dynamics_inputs_pick_subsampled_frames_and_their_flows():
    b, t, s = 2, 9, 4
    # Frame value = 10 * batch + frame index; flow value for (t, stride) = 100 * stride + t.
    frames = (10 * torch.arange(b)[:, None] + torch.arange(t)[None]).float()
    frames = frames[:, :, None, None, None].expand(b, t, 3, s, s)
    flows = {}
    for k in (1, 2, 4):
        values = 100 * k + torch.arange(t - k).float()
        flows[k] = values[None, :, None, None, None].expand(b, t - k, 2, s, s)
    inputs = dynamics_inputs(frames, flows, scales=3, factor=2, flow_norm=1.0)
    assert [x.shape for x in inputs] == [(b * 7, 13, s, s), (b * 5, 13, s, s), (b * 1, 13, s, s)]
    picked = [x[:, ::3, 0, 0][:, :3] for x in inputs]  # one channel per frame
    assert picked[2].tolist() == [[0, 4, 8], [10, 14, 18]]
    assert picked[1][:5].tolist() == [[i, i + 2, i + 4] for i in range(5)]
    assert picked[1][5].tolist() == [10, 12, 14]  # batch item first, then start frame
    # Flows follow the 9 frame channels: two channels each, from frames t and t + stride.
    assert inputs[2][0, 9:, 0, 0].tolist() == [400, 400, 404, 404]
    assert inputs[1][3, 9:, 0, 0].tolist() == [203, 203, 205, 205]
    assert inputs[0][0, 9:, 0, 0].tolist() == [100, 100, 101, 101]
    # Default normalisation divides flows by 20.
    default = dynamics_inputs(frames, flows, 1)[0][0, 9:, 0, 0]
    assert torch.allclose(default, torch.tensor([5, 5, 5.05, 5.05]))


def test_dynamics_inputs_reject_short_sequences_and_missing_flows():
    frames = torch.zeros(1, 8, 3, 4, 4)
    flows = {k: torch.zeros(1, 8 - k, 2, 4, 4) for k in (1, 2, 4)}
    with pytest.raises(ValueError, match="need 9"):
        dynamics_inputs(frames, flows, 3)
    with pytest.raises(ValueError, match="stride 2"):
        dynamics_inputs(frames, {1: flows[1]}, 2)
    with pytest.raises(ValueError, match="flows for stride 1"):
        dynamics_inputs(frames, {1: flows[2]}, 1)
