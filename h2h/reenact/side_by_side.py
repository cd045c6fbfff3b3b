"""The side-by-side video of a reenactment, one frame at a time: source | NMFC | eyes | result
under a title row, each panel at least 256 px (:mod:`h2h.media.panels`; the generated frame is
upscaled). The visible synthetic mark is drawn on the result panel at the panel's size, where it
stays legible, rather than on the small generated frame before it is enlarged."""

from __future__ import annotations

import numpy as np

from h2h.media.label import add_visible_mark
from h2h.media.panels import panel_size, titled_grid, to_panel

TITLES = ("source", "NMFC", "eyes", "result")


def side_by_side_frame(source: np.ndarray, nmfc: np.ndarray, eyes: np.ndarray,
                       result: np.ndarray, mark: bool = True) -> np.ndarray:
    """One frame of the side-by-side video from the unmarked generated frame ``result``."""
    size = panel_size(*(image.shape[0] for image in (source, nmfc, eyes, result)))
    shown = to_panel(result, size)
    if mark:
        shown = add_visible_mark(shown)
    return titled_grid([[source, nmfc, eyes, shown]], TITLES, size)
