"""Mouth regions for the mouth discriminator D_M and the condition tensor layout."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

#: iBUG-68 indices of the outer and inner lip contours.
MOUTH_LANDMARKS = slice(48, 68)
#: Side of the mouth crop at the paper's 256x256 resolution; it scales with the frame height.
MOUTH_SIZE_AT_256 = 72


def mouth_crop_size(height: int) -> int:
    """Side in pixels of the square mouth crop for frames ``height`` pixels tall (72 at 256)."""
    return max(1, round(MOUTH_SIZE_AT_256 * height / 256))


def mouth_centres(landmarks: ArrayT) -> ArrayT:
    """(..., >=68, 2) landmark (x, y) pixels -> (..., 2) mean of the 20 mouth points 48-67."""
    return landmarks[..., MOUTH_LANDMARKS, :].mean(-2)


def crop_regions(images: torch.Tensor, centres: torch.Tensor, size: int) -> torch.Tensor:
    """Cut a ``size`` x ``size`` box around each centre, shifted as needed to stay inside the image.

    images: (N, C, H, W); centres: (N, 2) as (x, y) pixels. The box's top-left corner is
    round(centre - size / 2), clamped to the image. Returns (N, C, size, size); slicing keeps the
    gradient, so the generator learns from the mouth discriminator through the crop.
    """
    n, _, h, w = images.shape
    if centres.shape != (n, 2):
        raise ValueError(f"centres must be ({n}, 2), got {tuple(centres.shape)}")
    if size > min(h, w):
        raise ValueError(f"crop size {size} exceeds the {h}x{w} image")
    corners = torch.round(centres.detach().double() - size / 2).long().cpu()
    xs = corners[:, 0].clamp(0, w - size).tolist()
    ys = corners[:, 1].clamp(0, h - size).tolist()
    return torch.stack([img[:, y : y + size, x : x + size] for img, x, y in zip(images, xs, ys)])


def make_conditions(nmfc: torch.Tensor, eyes: torch.Tensor | None) -> torch.Tensor:
    """Stack the NMFC and eye-sketch images along channels (dim -3): NMFC first, then eyes.

    ``eyes=None`` gives the NMFC-only condition of the "w/o eyes" ablation.
    """
    return nmfc if eyes is None else torch.cat([nmfc, eyes], dim=-3)
