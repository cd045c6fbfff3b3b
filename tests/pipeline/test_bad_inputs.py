"""Bad input: one clear error line naming the file and the reason, and no output left behind."""

import sys

import numpy as np
import pytest

from h2h.media.video import write_video
from tests.support.project import create_project, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bad_videos(tmp_path_factory, sample_videos):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "empty.mp4").write_bytes(b"")
    data = (sample_videos / "dpe_man.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    noise = np.random.default_rng(0).integers(0, 256, (40, 128, 128, 3), dtype=np.uint8)
    write_video(folder / "noise.mp4", noise, fps=25, mode="delivery")
    write_video(folder / "one_frame.mp4", noise[:1], fps=25, mode="delivery")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return create_project(tmp_path_factory.mktemp("bad"), {"dpe_man": ("dpe_man.mp4", "source")})


def assert_one_line_error(result, path, reason):
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and reason in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("name,reason", [
    ("missing.mp4", "file not found (`h2h assets` gets the face model, the canonical face and the "
                    "sample clips)"),
    ("empty.mp4", "file is empty"),
    ("truncated.mp4", "not a readable video"),
    ("one_frame.mp4", "too few frames (1 < 10)"),
])
def test_ingest_rejects_bad_videos(project, bad_videos, name, reason):
    path = bad_videos / name
    result = run([sys.executable, "stages/ingest.py", "--video", "bad", "--path", str(path),
                  "--out", "data/ingest/bad"],
                 project, check=False)
    assert_one_line_error(result, path, reason)
    assert not (project / "data/ingest/bad").exists()
    assert not list((project / "data/ingest").glob(".bad*"))


def test_crop_rejects_a_video_without_a_face(project, bad_videos):
    path = bad_videos / "noise.mp4"
    run([sys.executable, "stages/ingest.py", "--video", "noise", "--path", str(path), "--out",
         "data/ingest/noise"], project)
    result = run([sys.executable, "stages/crop.py", "--video", "noise", "--ingest",
                  "data/ingest/noise", "--out", "data/crop/noise"], project, check=False)
    assert_one_line_error(result, path, "no face found in any of the 8 sampled frames")
    assert not (project / "data/crop/noise").exists()
    assert (project / "data/ingest/noise/manifest.json").is_file()  # earlier work is kept


def test_a_stage_fails_clearly_before_its_input_exists(project):
    result = run([sys.executable, "stages/landmarks.py", "--video", "ghost", "--crop",
                  "data/crop/ghost", "--out", "data/landmarks/ghost"], project, check=False)
    assert_one_line_error(result, "data/crop/ghost", "run the crop stage first")
    assert not (project / "data/landmarks/ghost").exists()


def test_invalid_parameters_name_the_key(project):
    params = project / "params.yaml"
    original = params.read_text()
    try:
        params.write_text(original.replace("size: 256", "size: -3"))
        result = run([sys.executable, "stages/crop.py", "--video", "x", "--ingest", "data/ingest/x",
                      "--out", "data/crop/x"],
                     project, check=False)
        assert_one_line_error(result, "params.yaml", "invalid parameter crop.size")
    finally:
        params.write_text(original)
