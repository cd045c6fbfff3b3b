"""Small pictures for people: contact sheets of frames with what a stage found drawn on them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

GREEN = (0, 255, 0)
RED = (255, 0, 0)
YELLOW = (255, 255, 0)


def sample_indices(n_frames: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over a video."""
    if n_frames <= 0:
        return []
    return sorted(set(np.linspace(0, n_frames - 1, min(count, n_frames)).round().astype(int)))


def contact_sheet(images: Sequence[np.ndarray], columns: int = 4) -> np.ndarray:
    """Tile equally sized RGB images in a grid (missing cells black)."""
    if not images:
        raise ValueError("contact sheet needs at least one image")
    height, width = images[0].shape[:2]
    rows = -(-len(images) // columns)
    sheet = np.zeros((rows * height, min(columns, len(images)) * width, 3), np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        sheet[row * height:(row + 1) * height, column * width:(column + 1) * width] = image
    return sheet


def draw_points(image: np.ndarray, points: np.ndarray, color: tuple[int, int, int],
                radius: int = 1) -> np.ndarray:
    """A copy of ``image`` with a filled dot at each finite point."""
    out = image.copy()
    for x, y in points[np.isfinite(points).all(axis=1)]:
        cv2.circle(out, (int(round(x)), int(round(y))), radius, color, -1, cv2.LINE_AA)
    return out


def draw_box(image: np.ndarray, box: Sequence[float], color: tuple[int, int, int] = YELLOW,
             thickness: int = 2) -> np.ndarray:
    """A copy of ``image`` with the rectangle (x0, y0, x1, y1)."""
    out = image.copy()
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    cv2.rectangle(out, (x0, y0), (x1, y1), color, thickness)
    return out


def fit_square(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` scaled to fit a ``size`` x ``size`` black square, keeping its aspect ratio."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    out = np.zeros((size, size, 3), np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top:top + new_h, left:left + new_w] = cv2.resize(image, (new_w, new_h),
                                                         interpolation=cv2.INTER_AREA)
    return out


def save_png(path: str | Path, image: np.ndarray) -> None:
    """Write an RGB image as PNG."""
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
