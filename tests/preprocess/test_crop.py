import numpy as np
import pandas as pd
import pytest
import yaml

from h2h.core.errors import H2HError
from h2h.media.video import iter_frames, probe, read_video
from h2h.preprocess.crop import (
    CropParams,
    crop_video,
    detect_sampled,
    find_crop_box,
    fixed_box,
    head_motion,
    smooth_track,
    split_ranges,
)
from h2h.preprocess.detect import make_detector
from tests.support.params import CROP
from tests.support.project import ROOT

PARAMS = CropParams(**yaml.safe_load((ROOT / "params.yaml").read_text())["crop"])


def synthetic_track(n, cx, cy, size, every=1):
    frames = np.arange(0, n, every)
    return pd.DataFrame({"frame": frames, "detected": True,
                         "x0": cx[frames] - size / 2, "y0": cy[frames] - size / 2,
                         "x1": cx[frames] + size / 2, "y1": cy[frames] + size / 2})


def test_dlib_finds_a_face_on_nearly_every_sampled_frame_of_obama(sample_videos):
    path = sample_videos / "obama.mov"
    sampled = detect_sampled(iter_frames(path), make_detector("dlib_hog", CROP.detect_max_side), every=5)
    assert len(sampled) == -(-probe(path).frame_count // 5)
    assert sampled["detected"].mean() >= 0.99


def test_crop_video_writes_square_crops_of_the_requested_size(tmp_path, sample_videos):
    path = sample_videos / "lp_woman2.mp4"  # 512x512 source, downscaled crops
    result = crop_video(path, 40, 30.0, 512, 512, PARAMS, tmp_path / "crops.mkv")
    crops = read_video(tmp_path / "crops.mkv")
    assert crops.shape == (40, 256, 256, 3)
    box = result.box
    assert 0 <= box.x0 and box.x0 + box.side <= 512 and 0 <= box.y0 and box.y0 + box.side <= 512
    assert result.missed == 0
    # The face box plus margins is larger than the detected face but within the frame.
    assert result.track["size"].median() < box.side <= 512


def test_split_keeps_the_last_third_for_testing():
    assert split_ranges(1169, 1 / 3) == {"train": [0, 779], "test": [779, 1169]}
    assert split_ranges(300, 0.3333) == {"train": [0, 200], "test": [200, 300]}


def test_smoothing_removes_jitter_but_keeps_the_path():
    n = 200
    rng = np.random.default_rng(1)
    cx = 100 + 20 * np.sin(np.arange(n) / 30)
    noisy = synthetic_track(n, cx + rng.normal(0, 3, n), np.full(n, 120.0), 80, every=1)
    track = smooth_track(noisy, n, window=15, order=2)
    assert np.abs(track["cx"] - cx).mean() < np.abs(noisy["x0"] + 40 - cx).mean() / 2


def test_interpolation_between_sampled_detections():
    n = 21
    sampled = synthetic_track(n, np.linspace(50, 150, n), np.full(n, 100.0), 60, every=5)
    track = smooth_track(sampled, n, window=1, order=0)
    assert np.allclose(track["cx"], np.linspace(50, 150, n))


def test_a_wandering_head_is_rejected():
    n = 100
    wander = synthetic_track(n, np.linspace(40, 216, n), np.full(n, 128.0), 60)
    assert head_motion(smooth_track(wander, n, 15, 2), 256, 256) > PARAMS.max_motion
    with pytest.raises(H2HError, match="head moves"):
        find_crop_box(wander, n, 256, 256, PARAMS, "clip.mp4")


def test_rare_detections_are_rejected():
    sampled = synthetic_track(10, np.full(10, 100.0), np.full(10, 100.0), 50)
    sampled.loc[sampled.index[:8], "detected"] = False
    with pytest.raises(H2HError, match="only 20%"):
        find_crop_box(sampled, 10, 256, 256, PARAMS, "clip.mp4")


def test_box_is_clamped_inside_the_frame():
    n = 10
    track = smooth_track(synthetic_track(n, np.full(n, 10.0), np.full(n, 250.0), 100), n, 1, 0)
    box = fixed_box(track, 320, 256, PARAMS)
    assert box.x0 == 0 and box.y0 + box.side == 256 and box.side == 180
