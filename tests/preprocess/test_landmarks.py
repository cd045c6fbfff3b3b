import cv2
import numpy as np
import pytest

from h2h.core.gaps import fill_short_gaps, missing_runs
from h2h.media.video import read_video
from h2h.preprocess.landmarks import EYES, LandmarksParams, points_array, to_table, track_landmarks
from h2h.preprocess.pupil import pupil_centre

EYE = np.array([[20, 30], [30, 24], [42, 23], [52, 30], [42, 36], [30, 37]], float)


SUBPIXEL = 16  # cv2's fixed-point shift 4: drawing at 1/16 px, anti-aliased


def synthetic_eye(pupil: tuple[float, float], skin: int = 150, sclera: int = 190,
                  iris: int = 110, dark: int = 30) -> np.ndarray:
    """A grey face with the eye polygon EYE: grey sclera, a mid-grey iris (radius 4) around a
    dark pupil (radius 2.5) at ``pupil``, the iris hidden where it passes the eyelids."""
    shape = (64, 80)
    polygon = [np.round(EYE * SUBPIXEL).astype(np.int32)]
    opening = np.zeros(shape, np.uint8)
    cv2.fillPoly(opening, polygon, 255, cv2.LINE_AA, shift=4)
    eyeball = np.full(shape, sclera, np.uint8)
    centre = tuple(round(c * SUBPIXEL) for c in pupil)
    cv2.circle(eyeball, centre, 4 * SUBPIXEL, iris, -1, cv2.LINE_AA, shift=4)
    cv2.circle(eyeball, centre, round(2.5 * SUBPIXEL), dark, -1, cv2.LINE_AA, shift=4)
    alpha = opening / 255.0
    return np.round(eyeball * alpha + skin * (1 - alpha)).astype(np.uint8)


def whole_polygon_centroid(gray: np.ndarray, weight) -> np.ndarray:
    """Eq. 4 over every pixel of the polygon with the given weight of the intensity."""
    mask = np.zeros(gray.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(EYE).astype(np.int32)], 1)
    w = weight(gray.astype(float)) * mask
    ys, xs = np.mgrid[: gray.shape[0], : gray.shape[1]]
    return np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()


# The corners of EYE are (20, 30) and (52, 30): pupils at the corners (the iris touching
# both eyelids), near the centre and off-centre.
@pytest.mark.parametrize("pupil", [(25.0, 30.0), (47.0, 30.0), (36.0, 30.0), (30.4, 29.2),
                                   (44.7, 31.5)])
@pytest.mark.parametrize("tones", [{}, {"dark": 60}, {"iris": 80, "dark": 40},
                                   {"sclera": 170, "skin": 120}],
                         ids=["grey", "light-pupil", "dark-iris", "dark-sclera"])
def test_pupil_of_a_grey_eye_is_found_within_a_pixel(pupil, tones):
    gray = synthetic_eye(pupil, **tones)
    assert np.linalg.norm(pupil_centre(gray, EYE) - pupil) < 1.0


@pytest.mark.parametrize("pupil", [(25.0, 30.0), (47.0, 30.0)])
def test_whole_polygon_weights_pull_a_corner_pupil_towards_the_eye_centre(pupil):
    # Eq. 4 over the whole polygon counts grey sclera and skin: with the authors' 1 / I weight
    # and with 255 - I the pupil of an eye looking sideways lands pixels off, towards the
    # centre; the darker-than-average pixels (pupil_centre) find it within half a pixel.
    gray = synthetic_eye(pupil)
    found = pupil_centre(gray, EYE)
    for weight in (lambda i: 1 / np.maximum(i, 1), lambda i: 255 - i):
        whole = whole_polygon_centroid(gray, weight)
        assert np.linalg.norm(whole - pupil) > 5.0
        assert abs(whole[0] - 36.0) < abs(pupil[0] - 36.0)  # towards the eye's centre
    assert np.linalg.norm(found - pupil) < 0.5


def test_pupil_of_a_closed_eye_falls_back_to_the_eye_centre():
    closed = np.array([[20, 30], [30, 30], [42, 30], [52, 30], [42, 30], [30, 30]], float)
    assert np.allclose(pupil_centre(np.full((64, 80), 150, np.uint8), closed), closed.mean(0))


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
