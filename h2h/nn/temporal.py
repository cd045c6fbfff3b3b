"""Inputs of the dynamics discriminator D_D at each temporal scale (paper Sec. 3.4)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

#: Frames per D_D sample.
FRAMES = 3


def temporal_strides(scales: int, factor: int = 2) -> list[int]:
    """Frame stride of each temporal scale: 1, factor, factor**2, ..."""
    return [factor**k for k in range(scales)]


def min_sequence_length(scales: int, factor: int = 2) -> int:
    """Frames a sequence needs so that the coarsest temporal scale gets one sample."""
    return (FRAMES - 1) * factor ** (scales - 1) + 1


def temporal_window_indices(n_frames: int, stride: int, step: int = 1) -> torch.Tensor:
    """(n, 3) frame indices (t, t + stride, t + 2 stride) of every sample that fits.

    Sample starts are ``step`` apart: 0, step, 2 step, ...; step=1 uses every frame.
    """
    span = (FRAMES - 1) * stride
    starts = torch.arange(0, max(n_frames - span, 0), step)
    return starts[:, None] + stride * torch.arange(FRAMES)[None, :]


def dynamics_inputs(
    frames: torch.Tensor,
    flows: Mapping[int, torch.Tensor],
    scales: int,
    factor: int = 2,
    step: int = 1,
    flow_norm: float = 20.0,
) -> list[torch.Tensor]:
    """Build the D_D input of every temporal scale from a sequence of frames.

    frames: (B, T, 3, H, W), real or generated. flows: for each stride s in
    :func:`temporal_strides`, a (B, T - s, 2, H, W) tensor whose item t is the optical flow (in
    pixels) between the *real* frames t and t + s; the same flows go with real and generated
    frames, so D_D learns whether the frames move the way the real ones do. Flows are divided by
    ``flow_norm`` (20, as in vid2vid/Head2Head) to bring them near the [-1, 1] range of the frames.

    Returns per scale a (B * n_k, 13, H, W) tensor: the three frames (9 channels, oldest first)
    followed by the two flows between consecutive frames of the sample (4 channels); samples are
    ordered batch item first, then start frame as in :func:`temporal_window_indices`.
    """
    b, t, c, h, w = frames.shape
    inputs = []
    for stride in temporal_strides(scales, factor):
        index = temporal_window_indices(t, stride, step).to(frames.device)
        if len(index) == 0:
            raise ValueError(
                f"{t} frames are too few for temporal stride {stride}: "
                f"{scales} scales with factor {factor} need {min_sequence_length(scales, factor)}"
            )
        if stride not in flows:
            raise ValueError(f"no optical flows for temporal stride {stride}")
        flow = flows[stride]
        if tuple(flow.shape) != (b, t - stride, 2, h, w):
            expected = (b, t - stride, 2, h, w)
            raise ValueError(
                f"flows for stride {stride} must be {expected}, got {tuple(flow.shape)}"
            )
        n = len(index)
        sample_frames = frames[:, index].reshape(b * n, FRAMES * c, h, w)
        sample_flows = flow[:, index[:, :-1]].reshape(b * n, (FRAMES - 1) * 2, h, w) / flow_norm
        inputs.append(torch.cat([sample_frames, sample_flows.to(sample_frames.dtype)], dim=1))
    return inputs
