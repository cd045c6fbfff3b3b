"""Live reenactment: a sample video streamed through a pipe as a camera would deliver it, an
interrupted run, the online crop box, and the capture of a file that is still being written."""

import re
import shlex
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import yaml

from h2h.core.arrivals import at_rate
from h2h.core.errors import H2HError
from h2h.media.capture import LiveCapture
from h2h.media.label import is_labelled_synthetic
from h2h.media.video import ffmpeg_exe, probe, read_video
from h2h.preprocess.crop import BoxTracker, CropParams, detect_sampled, find_crop_box
from h2h.preprocess.detect import make_detector
from h2h.reenact.live import reenact_live
from h2h.reenact.offline import load_trained_target
from tests.support.project import ROOT, VIDEOS, tool_env

pytestmark = pytest.mark.slow

SOURCE = VIDEOS / "dpe_man.mp4"
CROP = CropParams(**yaml.safe_load((ROOT / "params.yaml").read_text())["crop"])


def feeder(frames: int, realtime: bool = False) -> list[str]:
    """ffmpeg streaming the first frames of the sample (looped) as Matroska on stdout."""
    return [ffmpeg_exe(), "-v", "error", *(["-re"] if realtime else []), "-stream_loop", "-1",
            "-i", str(SOURCE), "-frames:v", str(frames), "-f", "matroska", "-"]


def live_command(project, out, *options) -> list[str]:
    return [sys.executable, "-m", "h2h.cli", "reenact", "--live", "-", "--target", "obama",
            "--project", str(project), "--out", str(out), "--identity-frames", "10",
            *map(str, options)]


def test_live_reenactment_of_a_piped_stream(trained_project, tmp_path):
    """A video piped in faster than real time, every frame processed (--no-drop)."""
    out, side = tmp_path / "live.mp4", tmp_path / "side.mp4"
    command = live_command(trained_project, out, "--side-by-side", side, "--no-drop")
    pipeline = f"{shlex.join(feeder(40))} | {shlex.join(command)}"
    result = subprocess.run(pipeline, shell=True, cwd=ROOT, env=tool_env(), capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "40 frames (head mode, live, 25 fps)" in result.stdout
    assert "processed 40, dropped 0 (every frame processed (--no-drop))" in result.stdout
    speed = re.search(r"speed: ([\d.]+) frames/s achieved; latency per frame \(arrival to "
                      r"output\): median (\d+) ms, p95 (\d+) ms", result.stdout)
    assert speed and float(speed[1]) > 0 and int(speed[2]) > 0
    assert "per step (frames/s): crop" in result.stdout
    info = probe(out)
    assert (info.frame_count, info.fps, info.width) == (40, 25.0, 64)
    assert (probe(side).frame_count, probe(side).width, probe(side).height) == (40, 1024, 288)
    assert is_labelled_synthetic(out) and is_labelled_synthetic(side)
    # The source's face drove the frames: its NMFC panel (under the title row) is not black.
    nmfc = read_video(side)[:, 32:, 256:512]
    assert (nmfc.max(axis=(1, 2, 3)) > 50).mean() > 0.9


def test_ctrl_c_ends_a_live_run_cleanly(trained_project, tmp_path):
    """Interrupted mid-stream (a camera-like stream that would last 20 minutes): the frames so
    far are a finished video and the speed is reported."""
    out = tmp_path / "live.mp4"
    stream = subprocess.Popen(feeder(30_000, realtime=True), stdout=subprocess.PIPE)
    live = subprocess.Popen(live_command(trained_project, out), stdin=stream.stdout, cwd=ROOT,
                            env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    stream.stdout.close()
    try:
        partial = out.with_name(".live.partial.mp4")
        deadline = time.monotonic() + 120
        while not partial.exists() and live.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        live.send_signal(signal.SIGINT)
        stdout, stderr = live.communicate(timeout=60)
    finally:
        stream.kill()
        stream.wait()
    assert live.returncode == 0, stderr
    frames = int(re.search(r"^(\d+) frames \(head mode, live", stdout, re.M)[1])
    processed, dropped = map(int, re.search(r"^processed (\d+), dropped (\d+)", stdout,
                                            re.M).groups())
    assert 0 < frames < 30_000 and processed + dropped == frames
    assert processed > 0 and "latency per frame" in stdout
    # Each dropped frame repeats the last output: the video keeps the input's timing.
    assert probe(out).frame_count == frames and is_labelled_synthetic(out)
    assert not partial.exists()


@pytest.fixture(scope="module")
def trained(trained_project):
    return load_trained_target(trained_project, "obama")


def live_run(trained, tmp_path, frames, fps, drop=True, name="live.mp4"):
    return reenact_live(at_rate(iter(frames), fps), frames.shape[2], frames.shape[1], 25.0,
                        trained, "head", tmp_path / name, identity_frames=5, drop=drop)


def test_live_fed_faster_than_it_works_drops_frames_and_stays_current(trained, tmp_path):
    """Frames arrive at 200 per second, far faster than they are processed: the newest is
    taken, so a frame waits at most for the frame in progress, while keeping every frame
    (--no-drop) makes each wait for all those before it."""
    frames = read_video(SOURCE, count=40)
    current = live_run(trained, tmp_path, frames, fps=200.0)
    assert current.received == 40 and current.dropped > 0
    assert current.frames + current.dropped == 40
    assert probe(tmp_path / "live.mp4").frame_count == 40  # dropped frames repeat the last

    backlog = live_run(trained, tmp_path, frames, fps=200.0, drop=False, name="all.mp4")
    assert (backlog.frames, backlog.dropped) == (40, 0)
    # Behind a backlog of 8 frames a frame waits for all of them: several processing times.
    period = backlog.seconds / backlog.frames
    assert max(backlog.latencies) > 4 * period
    assert max(current.latencies) < max(backlog.latencies) / 2


def test_live_and_serial_steps_make_the_same_video(trained, tmp_path):
    """Every frame processed: the overlapped steps give the frames of the one-thread loop."""
    frames = read_video(SOURCE, count=12)
    for workers, name in ((True, "overlapped.mp4"), (False, "serial.mp4")):
        reenact_live(iter(frames), 256, 256, 25.0, trained, "head", tmp_path / name,
                     identity_frames=5, drop=False, workers=workers, mark=False)
    assert np.array_equal(read_video(tmp_path / "overlapped.mp4"),
                          read_video(tmp_path / "serial.mp4"))


def test_a_bad_frame_stops_a_live_run_with_one_error_and_no_video(trained, tmp_path):
    before = threading.active_count()
    frames = list(read_video(SOURCE, count=8))
    frames[5] = frames[5][:, :200]  # not the stream's size
    with pytest.raises(H2HError, match=r"uint8 \(256, 200, 3\), not uint8 \(256, 256, 3\)"):
        reenact_live(iter(frames), 256, 256, 25.0, trained, "head", tmp_path / "live.mp4",
                     identity_frames=5, drop=False)
    assert list(tmp_path.iterdir()) == []
    assert threading.active_count() == before


def test_box_tracker_finds_the_crop_stage_box_online():
    frames = read_video(VIDEOS / "obama.mov", count=60)
    tracker = BoxTracker(CROP, frames.shape[2], frames.shape[1])
    boxes = [tracker.update(frame) for frame in frames]
    assert boxes[0] is not None and tracker.moves == 0  # a steady head keeps its first box
    offline, _, _ = find_crop_box(
        detect_sampled(frames, make_detector(CROP.detector, CROP.detect_max_side),
                       CROP.detect_every), len(frames), frames.shape[2], frames.shape[1], CROP,
        "obama.mov")
    online = boxes[-1]
    assert abs(online.side - offline.side) <= 0.1 * offline.side
    assert abs(online.x0 - offline.x0) <= 0.05 * offline.side
    assert abs(online.y0 - offline.y0) <= 0.05 * offline.side


def test_box_tracker_keeps_its_box_while_the_face_stays_inside():
    faces = iter([(80, 80, 120, 120)] * 3 + [(84, 82, 124, 122)] * 3 + [(150, 80, 190, 120)] * 3)
    calls = []

    def detector(frame):
        calls.append(int(frame[0, 0, 0]))
        return np.array([next(faces)], float)

    params = CropParams(**{**CROP.__dict__, "detect_every": 2, "smooth_window": 2})
    tracker = BoxTracker(params, 320, 240, detector)
    boxes = [tracker.update(np.full((240, 320, 3), i, np.uint8)) for i in range(17)]
    assert calls == list(range(0, 17, 2))  # a detection every 2nd frame
    assert len({boxes[i] for i in range(0, 12)}) == 1  # a 4 px move stays inside the box
    assert tracker.moves == 1 and boxes[12] != boxes[11]  # a 70 px jump leaves it
    x0, y0, x1, y1 = boxes[12].corners
    assert x0 <= 150 and 190 <= x1 and y0 <= 80 and 120 <= y1


def test_capture_follows_a_file_being_written(tmp_path):
    growing = tmp_path / "growing.mkv"
    writer = subprocess.Popen([ffmpeg_exe(), "-v", "error", "-re", "-i", str(SOURCE),
                               "-frames:v", "25", "-f", "matroska", str(growing)])
    try:
        while not growing.exists():
            time.sleep(0.02)
        with LiveCapture(str(growing), idle_s=1.0) as capture:
            assert (capture.width, capture.height, capture.fps) == (256, 256, 25.0)
            frames = sum(1 for _ in capture)
    finally:
        writer.wait(timeout=30)
    assert frames == 25


def test_capture_says_what_is_missing():
    with pytest.raises(H2HError, match="/dev/video97: camera not found"):
        LiveCapture("/dev/video97").open()
    with pytest.raises(H2HError, match="nothing.mkv: file not found"):
        LiveCapture("nothing.mkv").open()
