"""Frames between numpy (H, W, C) uint8, as videos store them, and the networks' tensors
((C, H, W) in [-1, 1], the range of G's tanh output): one set of conversions for training,
streaming and previews, so every path sees the same pixels."""

from __future__ import annotations

import numpy as np
import torch


def to_model_range(frames: torch.Tensor) -> torch.Tensor:
    """uint8 images (any shape) -> floats in [-1, 1] (the range of G's tanh output), in torch's
    default dtype like the networks' weights (float32 unless changed)."""
    return frames.to(torch.get_default_dtype()) / 127.5 - 1


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 (values outside the range are clipped)."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def channels_first(frames: np.ndarray) -> torch.Tensor:
    """(..., H, W, C) array -> (..., C, H, W) tensor (a copy, so memory maps stay read-only)."""
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(frames, -1, -3)))


def hwc(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) tensor in [-1, 1] or uint8 -> (H, W, C) uint8 array."""
    if image.dtype != torch.uint8:
        image = to_uint8(image)
    return image.permute(1, 2, 0).cpu().numpy()
