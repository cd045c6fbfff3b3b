"""Panels people can see: every image at one size of at least 256 px, a title over each column."""

import numpy as np
import pytest

from h2h.media.panels import title_height, title_row, titled_grid, to_panel


def image(size, seed):
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_small_images_become_256_px_panels_under_their_titles():
    rows = [[image(64, 0), image(256, 1), image(64, 2)], [image(64, 3), image(256, 4), image(64, 5)]]
    grid = titled_grid(rows, ("condition", "generated", "real"))
    top = title_height(256)
    assert top == 32 and grid.shape == (top + 2 * 256, 3 * 256, 3)
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            panel = grid[top + r * 256: top + (r + 1) * 256, c * 256:(c + 1) * 256]
            np.testing.assert_array_equal(panel, to_panel(picture, 256))
    np.testing.assert_array_equal(grid[top:top + 256, 256:512], rows[0][1])  # kept as it is
    header = grid[:top]
    for c in range(3):  # a title in the middle of every column, nothing at its edges
        column = header[:, c * 256:(c + 1) * 256].max(-1)
        assert column[:, 96:160].max() > 200 and column[:, :8].max() == 0
        assert column[:, -8:].max() == 0


def test_an_enlarged_panel_is_the_image_upscaled():
    flat = np.full((64, 64, 3), (10, 200, 30), np.uint8)
    np.testing.assert_array_equal(to_panel(flat, 256), np.full((256, 256, 3), (10, 200, 30)))
    ramp = np.repeat(np.linspace(0, 255, 64).astype(np.uint8)[None, :, None], 64, 0)
    wide = to_panel(np.repeat(ramp, 3, -1), 256)
    assert np.abs(wide[::4, 1::4].astype(int) - np.repeat(ramp, 3, -1)).max() <= 2


def test_titles_name_their_own_column():
    one, two = title_row(("NMFC", "eyes"), 256), title_row(("eyes", "NMFC"), 256)
    np.testing.assert_array_equal(one[:, :256], two[:, 256:])
    assert not np.array_equal(one[:, :256], one[:, 256:])


def test_large_images_keep_their_size():
    grid = titled_grid([[image(512, 0), image(128, 1)]], ("a", "b"))
    assert grid.shape == (title_height(512) + 512, 1024, 3) and title_height(512) == 64


def test_every_row_needs_one_image_per_title():
    with pytest.raises(ValueError, match="every row needs 3 images"):
        titled_grid([[image(64, 0), image(64, 1)]], ("a", "b", "c"))
