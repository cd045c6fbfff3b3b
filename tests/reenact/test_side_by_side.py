import numpy as np

from h2h.media.label import add_visible_mark, mark_mask
from h2h.media.panels import to_panel
from h2h.reenact.side_by_side import side_by_side_frame


def test_a_64_px_result_is_shown_at_256_px_beside_its_inputs_with_a_legible_mark():
    rng = np.random.default_rng(0)
    source, nmfc, eyes = (rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(3))
    result = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    frame = side_by_side_frame(source, nmfc, eyes, result)
    assert frame.shape == (288, 1024, 3)
    panels = frame[32:]
    for column, shown in enumerate((source, nmfc, eyes)):
        np.testing.assert_array_equal(panels[:, column * 256:(column + 1) * 256], shown)
    np.testing.assert_array_equal(panels[:, 768:], add_visible_mark(to_panel(result, 256)))
    outside = ~mark_mask(256, 256)
    np.testing.assert_array_equal(panels[:, 768:][outside], to_panel(result, 256)[outside])
    plain = side_by_side_frame(source, nmfc, eyes, result, mark=False)
    np.testing.assert_array_equal(plain[32:, 768:], to_panel(result, 256))
