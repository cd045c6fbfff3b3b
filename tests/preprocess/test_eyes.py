import numpy as np
import pandas as pd

from h2h.preprocess.eyes import EYE_POINTS, draw_eyes, eye_points, pupil_radius, render_eyes

RIGHT = np.array([[60, 100], [70, 94], [82, 94], [92, 100], [82, 106], [70, 106]], float)
LEFT = RIGHT + [100, 0]


def _points(pupil_r=(76, 100), pupil_l=(176, 101)):
    return np.vstack([RIGHT, LEFT, [pupil_r, pupil_l]])


def test_sketch_is_white_outlines_red_pupils_on_black():
    pts = _points()
    image = draw_eyes(pts, 256, 256)
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    colours = {tuple(c) for c in image.reshape(-1, 3)}
    assert colours == {(0, 0, 0), (255, 255, 255), (255, 0, 0)}
    for x, y in pts[12:].astype(int):
        assert tuple(image[y, x]) == (255, 0, 0)
    radius = pupil_radius(RIGHT)
    assert radius == round(0.2 * 32)
    # Outline vertices away from the pupil discs are white.
    for x, y in pts[:12].astype(int):
        if min(np.hypot(x - px, y - py) for px, py in pts[12:]) > radius + 1:
            assert tuple(image[y, x]) == (255, 255, 255)
    # Red is a disc of the documented radius: its area is ~pi r^2.
    red = (image == [255, 0, 0]).all(-1).sum()
    assert abs(red - 2 * np.pi * radius**2) < 0.35 * 2 * np.pi * radius**2
    # Far from the eyes everything is black.
    assert not image[:80].any() and not image[130:].any()


def test_invalid_points_give_black_frames():
    bad = _points()
    bad[3] = np.nan
    assert not draw_eyes(bad, 64, 64).any()
    frames = list(render_eyes(np.stack([_points(), bad]), 256, 256))
    assert frames[0].any() and not frames[1].any()


def test_eye_points_read_from_a_landmarks_table():
    pts = _points()
    row = {"frame": 0, "valid": True, "interpolated": False}
    for i in range(70):
        row[f"x{i}"], row[f"y{i}"] = float(i), float(-i)
    for k, idx in enumerate(EYE_POINTS):
        row[f"x{idx}"], row[f"y{idx}"] = pts[k]
    table = pd.DataFrame([row, {**row, "frame": 1, "valid": False}])
    out = eye_points(table)
    assert out.shape == (2, 14, 2)
    np.testing.assert_array_equal(out[0], pts)
    assert np.isnan(out[1]).all()
