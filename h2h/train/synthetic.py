"""A cheap synthetic clip with the structure of real training data, for benchmarks and tests of the
training mechanics: a textured disc (the "head") circling over a fixed background, its NMFC-like
colour code, eye landmarks and their sketch, the mouth centre and the exact optical flow of the
motion."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from h2h.preprocess.eyes import draw_eyes
from h2h.train.data import FLOW_STRIDES, Clip

#: An eye's outline (corner, two upper points, corner, two lower points) in units of its width.
_OUTLINE = np.array([[-0.5, 0], [-0.17, -0.2], [0.17, -0.2], [0.5, 0], [0.17, 0.2], [-0.17, 0.2]])


def synthetic_clip(
    n_frames: int = 40,
    resolution: int = 64,
    seed: int = 0,
    name: str = "synthetic",
    eyes: bool = True,
    strides: Sequence[int] = FLOW_STRIDES,
    invalid: Sequence[int] = (),
) -> Clip:
    """A deterministic :class:`Clip`; frames listed in ``invalid`` are marked without landmarks."""
    rng = np.random.default_rng(seed)
    r = resolution
    t = np.arange(n_frames)
    phase = rng.uniform(0, 2 * np.pi)
    amplitude, radius = r / 10, r / 4
    centres = np.stack([r / 2 + amplitude * np.sin(2 * np.pi * t / 24 + phase),
                        r / 2 + amplitude * np.cos(2 * np.pi * t / 17 + phase)], 1)
    ys, xs = np.mgrid[0:r, 0:r].astype(np.float32)
    background = np.stack([xs / r, ys / r, np.full_like(xs, 0.3)], -1) * 200
    texture = cv2.resize(rng.uniform(60, 250, (6, 6, 3)).astype(np.float32), (2 * r, 2 * r))

    real = np.empty((n_frames, r, r, 3), np.uint8)
    nmfc = np.zeros_like(real)
    sketch = np.zeros_like(real)
    points = np.empty((n_frames, 14, 2), np.float32)
    for i, (cx, cy) in enumerate(centres):
        u, v = (xs - cx) / radius, (ys - cy) / radius
        inside = u**2 + v**2 <= 1
        tex = texture[np.clip(ys - cy + r, 0, 2 * r - 1).astype(int),
                      np.clip(xs - cx + r, 0, 2 * r - 1).astype(int)]
        real[i] = np.where(inside[..., None], tex, background).astype(np.uint8)
        code = np.stack([(u + 1) / 2, (v + 1) / 2, np.full_like(u, 0.5)], -1) * 255
        nmfc[i][inside] = code[inside].astype(np.uint8)
        pupils = [np.array([cx + side * radius / 2.5, cy - radius / 3]) for side in (-1, 1)]
        points[i, :12] = np.concatenate([pupil + _OUTLINE * radius / 2 for pupil in pupils])
        points[i, 12:] = pupils
        sketch[i] = draw_eyes(points[i], r, r)

    flows = {}
    for s in strides:
        out = np.zeros((max(n_frames - s, 0), r, r, 2), np.float16)
        for i in range(len(out)):
            inside = (xs - centres[i, 0]) ** 2 + (ys - centres[i, 1]) ** 2 <= radius**2
            out[i][inside] = centres[i + s] - centres[i]
        flows[s] = out
    valid = np.ones(n_frames, bool)
    valid[list(invalid)] = False
    mouth = (centres + [0, radius / 2]).astype(np.float32)
    mouth[~valid] = np.nan
    points[~valid] = np.nan
    return Clip(name, 25.0, 0, real, nmfc, sketch if eyes else None, mouth, valid, flows,
                points if eyes else None, r if eyes else 0)
