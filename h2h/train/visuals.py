"""What a person looks at during training: condition | generated | real sample grids and short
preview videos, plus chunked rendering of a whole clip with G."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from h2h.media.sheets import contact_sheet
from h2h.media.video import VideoWriter
from h2h.nn.generator import Generator, render_sequence
from h2h.nn.images import hwc, to_model_range, to_uint8

#: Batch items shown in a sample grid.
GRID_ROWS = 4


def condition_image(conditions: np.ndarray) -> np.ndarray:
    """(H, W, 3 or 6) uint8 NMFC (+ eye sketch) -> RGB: the eye sketch drawn over the NMFC."""
    image = np.array(conditions[..., :3])
    if conditions.shape[-1] > 3:
        eyes = conditions[..., 3:6]
        drawn = eyes.any(-1)
        image[drawn] = eyes[drawn]
    return image





def sample_grid(conditions: torch.Tensor, generated: torch.Tensor,
                real: torch.Tensor) -> np.ndarray:
    """One row per batch item (at most :data:`GRID_ROWS`) of the last frame of a window:
    condition | generated | real. conditions (B, T, C, H, W) and real (B, T, 3, H, W) uint8
    or [-1, 1]; generated (B, T, 3, H, W) in [-1, 1]."""
    tiles = []
    for b in range(min(GRID_ROWS, len(generated))):
        tiles += [condition_image(hwc(conditions[b, -1])), hwc(generated[b, -1]),
                  hwc(real[b, -1])]
    return contact_sheet(tiles, columns=3)


@torch.no_grad()
def render_clip(generator: Generator, conditions: np.ndarray, device: torch.device,
                chunk: int = 16) -> np.ndarray:
    """Render a whole clip from its (N, H, W, C) uint8 conditions, ``chunk`` frames at a time
    (bounded memory); frames continue across chunks exactly as in one call of render_sequence.
    Returns (N, H, W, 3) uint8."""
    context = generator.window - 1
    h, w = conditions.shape[1:3]
    # The frames G generated before the current chunk, oldest first (zeros before the start).
    previous = torch.zeros((1, context, 3, h, w), device=device) if generator.sequential else None
    out = []
    for start in range(0, len(conditions), chunk):
        first = max(0, start - context)
        x = torch.from_numpy(np.ascontiguousarray(conditions[first:start + chunk])).to(device)
        x = to_model_range(x.permute(0, 3, 1, 2)).unsqueeze(0)
        frames = render_sequence(generator, x, previous, context=start - first)
        if previous is not None:
            previous = torch.cat([previous, frames], 1)[:, -context:]
        out.append(to_uint8(frames[0]).permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out)


def write_preview(path: str | Path, conditions: np.ndarray, generated: np.ndarray,
                  real: np.ndarray, fps: float) -> None:
    """A delivery MP4 of condition | generated | real side by side."""
    with VideoWriter(path, fps, mode="delivery") as writer:
        for c, g, r in zip(conditions, generated, real):
            writer.write(np.concatenate([condition_image(c), g, r], axis=1))
