"""Pictures and videos that compare images side by side: equal square panels of at least
:data:`MIN_PANEL` pixels under a title row naming each column.

Generators of the small training profiles work at 64 or 128 px; shown at that size next to their
inputs, a face is a few dozen pixels wide and nobody can judge it. Every panel is therefore
scaled to one common size, at least 256 px (a generated frame is upscaled, bicubic), and each
column says what it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

from h2h.media.sheets import contact_sheet

MIN_PANEL = 256
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def panel_size(*sides: int) -> int:
    """The side of the panels for images of these sides: the largest, at least 256 px."""
    return max(MIN_PANEL, *sides)


def to_panel(image: np.ndarray, size: int) -> np.ndarray:
    """A square RGB image at ``size`` px: enlarged bicubic, shrunk by pixel area."""
    if image.shape[:2] == (size, size):
        return image
    interpolation = cv2.INTER_CUBIC if image.shape[0] < size else cv2.INTER_AREA
    return cv2.resize(image, (size, size), interpolation=interpolation)


def title_height(size: int) -> int:
    """Height of the title row over panels of ``size`` px (even, as video encoders need)."""
    return 2 * max(8, round(size / 16))


@lru_cache(maxsize=16)
def title_row(titles: tuple[str, ...], size: int) -> np.ndarray:
    """White titles centred over columns of ``size`` px on black (made once per layout: a
    video repeats it on every frame)."""
    height = title_height(size)
    row = np.zeros((height, size * len(titles), 3), np.uint8)
    for column, title in enumerate(titles):
        scale = height * 0.45 / cv2.getTextSize("Ag", _FONT, 1.0, 1)[0][1]
        text_w = cv2.getTextSize(title, _FONT, scale, 1)[0][0]
        scale = min(scale, scale * 0.9 * size / max(text_w, 1))  # long titles fit their column
        thickness = max(1, round(scale * 1.5))
        (text_w, text_h), _ = cv2.getTextSize(title, _FONT, scale, thickness)
        origin = (column * size + (size - text_w) // 2, (height + text_h) // 2)
        cv2.putText(row, title, origin, _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    row.flags.writeable = False
    return row


def titled_grid(rows: Sequence[Sequence[np.ndarray]], titles: Sequence[str],
                size: int | None = None) -> np.ndarray:
    """One picture: the title row, then each row of images as panels of ``size`` px (default:
    :func:`panel_size` of all images). Every row has one image per title."""
    if any(len(row) != len(titles) for row in rows):
        raise ValueError(f"every row needs {len(titles)} images, one per title")
    size = size or panel_size(*(image.shape[0] for row in rows for image in row))
    panels = [to_panel(image, size) for row in rows for image in row]
    return np.concatenate([title_row(tuple(titles), size),
                           contact_sheet(panels, columns=len(titles))])
