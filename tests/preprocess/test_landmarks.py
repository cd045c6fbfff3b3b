import cv2
import numpy as np
import pytest

from h2h.core.gaps import fill_short_gaps, missing_runs
from h2h.media.video import read_video
from h2h.preprocess.landmarks import EYES, LandmarksParams, points_array, to_table, track_landmarks
from h2h.preprocess.pupil import pupil_centre

EYE = np.array([[20, 30], [30, 24], [42, 23], [52, 30], [42, 36], [30, 37]], float)


@pytest.mark.parametrize("centre", [(36.0, 30.0), (30.4, 29.2), (44.7, 31.5)])
def test_pupil_of_a_dark_disc_on_a_white_eye_is_found_within_a_pixel(centre):
    gray = np.full((64, 80), 255, np.uint8)
    cv2.circle(gray, (round(centre[0] * 16), round(centre[1] * 16)), 4 * 16, 0, -1,
               cv2.LINE_AA, shift=4)
    assert np.linalg.norm(pupil_centre(gray, EYE) - centre) < 1.0


def test_pupil_of_a_closed_eye_falls_back_to_the_eye_centre():
    closed = np.array([[20, 30], [30, 30], [42, 30], [52, 30], [42, 30], [30, 30]], float)
    assert np.allclose(pupil_centre(np.full((64, 80), 255, np.uint8), closed), closed.mean(0))


def test_pupils_lie_inside_their_eye_polygons_on_real_video(sample_videos):
    frames = read_video(sample_videos / "obama.mov", start=200, count=60)
    track = track_landmarks(frames, LandmarksParams(upsample=0, max_gap=5, min_valid=0.9),
                            "obama.mov")
    points = track.series.values
    inside = []
    for frame_points in points[track.found]:
        for eye, pupil in zip(EYES, frame_points[68:]):
            polygon = frame_points[eye].astype(np.float32)
            inside.append(cv2.pointPolygonTest(polygon, tuple(map(float, pupil)), True) >= -0.5)
    assert track.found.mean() > 0.95
    assert np.mean(inside) >= 0.99


def test_table_round_trip():
    values = np.random.default_rng(0).uniform(0, 255, (5, 70, 2))
    valid = np.array([True, True, False, True, True])
    series = fill_short_gaps(values, valid, max_gap=1)
    table = to_table(series)
    assert list(table.columns[:3]) == ["frame", "x0", "x1"] and len(table) == 5
    assert table["interpolated"].tolist() == [False, False, True, False, False]
    assert np.allclose(points_array(table), series.values, atol=1e-4)


def test_short_gaps_are_interpolated_and_long_ones_kept_missing():
    values = np.arange(12, dtype=float)[:, None] * 2
    valid = np.ones(12, bool)
    valid[[2, 3]] = False  # short
    valid[6:10] = False  # long
    filled = fill_short_gaps(values, valid, max_gap=2)
    assert missing_runs(valid) == [(2, 4), (6, 10)]
    assert np.allclose(filled.values[2:4, 0], [4, 6])
    assert filled.interpolated.tolist() == [False, False, True, True] + [False] * 8
    assert np.isnan(filled.values[6:10]).all() and not filled.valid[6:10].any()


def test_edge_gaps_hold_the_nearest_value():
    values = np.array([[0.0], [0.0], [5.0], [6.0], [0.0]])
    filled = fill_short_gaps(values, np.array([False, False, True, True, False]), max_gap=2)
    assert filled.values[:, 0].tolist() == [5, 5, 5, 6, 6]
