"""Pixel distances between a real and a generated video (paper Sec. 4.3, Tables 1, 2 and 4).

All three metrics are the L2 distance of RGB values (0-255 scale) per pixel, averaged:

- APD: over all pixels of all frames;
- MAPD: over the pixels of a boolean mask per frame, in the paper the NMFC face area
  (``nmfc.any(-1)``: a pixel the rendered face covers is non-zero);
- mouth APD: over a box per frame around the mouth (paper Table 2).

The video-level value pools pixels: total distance / total number of pixels, as the paper's
reference code does. For APD every frame has the same pixel count, so this equals the mean of the
per-frame values; for the masked metrics frames with a larger mask weigh more. A frame with an
empty mask or box is skipped (NaN per frame).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from h2h.evaluation.metrics.per_frame import PerFrame


def _check_videos(real: np.ndarray, fake: np.ndarray) -> None:
    if real.shape != fake.shape or real.ndim != 4 or real.shape[-1] != 3:
        raise ValueError(
            f"expected two RGB videos (N, H, W, 3) of one shape, got {real.shape} and {fake.shape}"
        )


def _pooled_distance(pairs: Iterator[tuple[np.ndarray, np.ndarray]], n: int) -> PerFrame:
    """Per-frame mean and pooled mean of the RGB L2 distance over the pixels each pair selects.

    Works frame by frame, so a long video never needs a float copy of itself.
    """
    sums = np.zeros(n)
    counts = np.zeros(n, dtype=np.int64)
    for t, (a, b) in enumerate(pairs):
        d = np.linalg.norm(a.astype(np.float32) - b.astype(np.float32), axis=-1)
        sums[t], counts[t] = d.sum(dtype=np.float64), d.size
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(counts > 0, sums / counts, np.nan)
    total = counts.sum()
    return PerFrame(values, float(sums.sum() / total) if total else float("nan"))


def apd(real: np.ndarray, fake: np.ndarray) -> PerFrame:
    """Average pixel distance of two uint8 RGB videos (N, H, W, 3)."""
    _check_videos(real, fake)
    return _pooled_distance(zip(real, fake), len(real))


def mapd(real: np.ndarray, fake: np.ndarray, mask: np.ndarray) -> PerFrame:
    """Masked average pixel distance: only pixels where ``mask`` (N, H, W) bool is True count."""
    _check_videos(real, fake)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != real.shape[:3]:
        raise ValueError(f"mask {mask.shape} does not match the videos {real.shape[:3]}")
    return _pooled_distance(((r[m], f[m]) for r, f, m in zip(real, fake, mask)), len(real))


def mouth_apd(real: np.ndarray, fake: np.ndarray, boxes: np.ndarray) -> PerFrame:
    """APD inside one box per frame; ``boxes`` (N, 4) = (x0, y0, x1, y1) in pixels.

    Boxes are half-open ([x0, x1) x [y0, y1)), rounded to whole pixels and clipped to the frame; a
    box with a NaN coordinate (e.g. no landmarks in that frame) or no area skips the frame.
    """
    _check_videos(real, fake)
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.shape != (len(real), 4):
        raise ValueError(f"expected boxes ({len(real)}, 4), got {boxes.shape}")
    h, w = real.shape[1:3]

    def crops() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for r, f, box in zip(real, fake, boxes):
            if not np.isfinite(box).all():
                yield r[:0, :0], f[:0, :0]
                continue
            x0, y0, x1, y1 = np.round(box).astype(int)
            x0, x1 = np.clip([x0, x1], 0, w)
            y0, y1 = np.clip([y0, y1], 0, h)
            yield r[y0:y1, x0:x1], f[y0:y1, x0:x1]

    return _pooled_distance(crops(), len(real))
