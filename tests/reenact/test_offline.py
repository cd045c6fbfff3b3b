"""``h2h reenact`` from a raw source video: the whole chain on real components (with a tiny random
generator), the synthetic labels, one clear error line for bad input, and the conditioning the
command shares with the conditioning stage."""

import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from h2h.bench.suite import bench_reenact
from h2h.cli import main
from h2h.media.label import add_visible_mark, is_labelled_synthetic
from h2h.media.panels import to_panel
from h2h.media.video import probe, read_video, write_video
from h2h.reenact.conditioning import condition
from h2h.reenact.offline import load_trained_target, reenact_video
from h2h.reenact.recovery import STEPS
from h2h.reenact.target import TargetPaths, condition_target, load_target
from tests.support.project import CANONICAL_OBJ, ICT_NPZ, ROOT, VIDEOS, tool_env

pytestmark = pytest.mark.slow

SOURCE = VIDEOS / "dpe_man.mp4"
FRAMES = 30


def reenact(capfd, project, out, *options):
    """Run ``h2h reenact`` in-process; returns (exit status, stdout, stderr)."""
    status = main(["reenact", *map(str, options), "--target", "obama", "--project", str(project),
                   "--out", str(out)])
    captured = capfd.readouterr()
    return status, captured.out, captured.err


def mark_mask(size: int) -> np.ndarray:
    """(H, W) bool: the pixels the visible mark changes in a frame of ``size``."""
    grey = np.full((size, size, 3), 128, np.uint8)
    return (add_visible_mark(grey) != grey).any(-1)


def test_reenact_a_raw_video_end_to_end(trained_project, tmp_path, capfd):
    out, side, plain = tmp_path / "out.mp4", tmp_path / "side.mp4", tmp_path / "plain.mp4"
    status, stdout, stderr = reenact(capfd, trained_project, out, SOURCE, "--max-frames", FRAMES,
                                     "--side-by-side", side)
    assert status == 0, stderr
    assert f"{FRAMES} frames (head mode, 25 fps)" in stdout
    assert "frames/s end to end; per step: crop" in stdout and "generator" in stdout

    info = probe(out)
    assert (info.frame_count, info.fps, info.width, info.height) == (FRAMES, 25.0, 64, 64)
    both = probe(side)
    # 256 px panels (the 64 px result upscaled) under a 32 px title row.
    assert (both.frame_count, both.fps, both.width, both.height) == (FRAMES, 25.0, 1024, 288)
    assert is_labelled_synthetic(out) and is_labelled_synthetic(side)

    status, _, stderr = reenact(capfd, trained_project, plain, SOURCE, "--max-frames", FRAMES,
                                "--no-mark")
    assert status == 0, stderr
    assert is_labelled_synthetic(plain)  # no mark, but still the metadata label
    marked, unmarked = read_video(out).astype(float), read_video(plain).astype(float)
    diff = np.abs(marked - unmarked).mean(axis=(0, 3))  # per pixel, over frames and channels
    mask = mark_mask(64)
    # The mark shows in its corner and nowhere else (elsewhere: the same generated video, up
    # to the codec's differences between two encodings).
    assert diff[mask].mean() > 30 and diff[mask].mean() > 8 * diff[:32].mean()
    # The side-by-side video's last panel is the result upscaled, with the mark drawn at 256 px:
    # elsewhere the same frames (two encodings of the random generator's noise differ pixel by
    # pixel, not on average).
    panel = read_video(side)[:, 32:, 3 * 256:].astype(float)
    upscaled = np.stack([to_panel(frame, 256) for frame in read_video(plain)]).astype(float)
    mask = mark_mask(256)
    np.testing.assert_allclose(panel[:, ~mask].mean(), upscaled[:, ~mask].mean(), atol=2)
    diff = np.abs(panel - upscaled).mean(axis=(0, 3))
    assert diff[mask].mean() > 30 and diff[mask].mean() > 3 * diff[~mask].mean()


def test_overlapped_steps_make_the_video_of_the_serial_loop(trained_project, tmp_path):
    trained = load_trained_target(trained_project, "obama")
    videos = {}
    for workers in (True, False):
        out, side = tmp_path / f"{workers}.mp4", tmp_path / f"{workers}-side.mp4"
        report = reenact_video(SOURCE, trained, "head", out, side_by_side=side, max_frames=16,
                               workers=workers)
        assert report.frames == 16 and report.wall_seconds > 0
        videos[workers] = read_video(out), read_video(side)
    for overlapped, serial in zip(videos[True], videos[False]):
        assert np.array_equal(overlapped, serial)


def test_ctrl_c_stops_a_reenactment_and_leaves_nothing(trained_project, tmp_path):
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    scratch.mkdir()
    command = [sys.executable, "-m", "h2h.cli", "reenact", str(SOURCE), "--target", "obama",
               "--project", str(trained_project), "--out", str(out / "out.mp4"),
               "--side-by-side", str(out / "side.mp4")]
    process = subprocess.Popen(command, cwd=ROOT, env={**tool_env(), "TMPDIR": str(scratch)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        # Interrupt once the per-frame work has begun (the temporary crops are being written).
        while process.poll() is None and time.monotonic() < deadline and not any(
                scratch.glob("h2h-reenact-*/.frames.partial.mkv")):
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and stderr.strip().endswith("h2h reenact: interrupted")
    assert list(out.iterdir()) == [] and list(scratch.iterdir()) == []  # no video, no crops
    children = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True)
    assert children.stdout == ""  # no decoder or encoder left running


def test_face_mode_reenacts_too(trained_project, tmp_path, capfd):
    out = tmp_path / "face.mp4"
    status, stdout, stderr = reenact(capfd, trained_project, out, SOURCE, "--mode", "face",
                                     "--max-frames", 12)
    assert status == 0, stderr
    assert "12 frames (face mode, 25 fps)" in stdout
    assert probe(out).frame_count == 12


@pytest.fixture(scope="module")
def bad_inputs(trained_project, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_inputs")
    noise = np.random.default_rng(0).integers(0, 256, (30, 128, 128, 3), dtype=np.uint8)
    write_video(folder / "noise.mp4", noise, fps=25, mode="delivery")
    shutil.copytree(trained_project, folder / "untrained",
                    ignore=shutil.ignore_patterns("finetune"))
    shutil.copytree(trained_project, folder / "no_model")
    (folder / "no_model" / "data" / "face_model" / "model.npz").unlink()
    return folder


BAD_INPUTS = {
    "missing source": "missing.mp4: file not found",
    "source without a face": "noise.mp4: no face found in any of the",
    "untrained target": "generator.pt: target 'obama' is not trained (no 'full' generator): "
                        "run `dvc repro finetune@obama-full` in ",
    "missing face model": "model.npz: face model not found: run `dvc repro face_model`",
    "unknown mode": "unknown reenactment mode 'body'; choose one of head, face",
}


@pytest.mark.parametrize("case,reason", BAD_INPUTS.items(), ids=list(BAD_INPUTS))
def test_bad_input_gives_one_error_line_and_no_video(trained_project, bad_inputs, tmp_path,
                                                     capfd, case, reason):
    source, project, options = SOURCE, trained_project, []
    if case == "missing source":
        source = bad_inputs / "missing.mp4"
    elif case == "source without a face":
        source = bad_inputs / "noise.mp4"
    elif case == "untrained target":
        project = bad_inputs / "untrained"
    elif case == "missing face model":
        project = bad_inputs / "no_model"
    else:
        options = ["--mode", "body"]
    status, _, stderr = reenact(capfd, project, tmp_path / "out.mp4", source, *options,
                                "--side-by-side", tmp_path / "side.mp4")
    assert status == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("h2h reenact: error: ") and reason in lines[0]
    assert list(tmp_path.iterdir()) == []  # no video, no partial file


def test_condition_target_drives_the_rows_the_conditioning_stage_drove(trained_project):
    """The stage's former inline logic: the target's training rows as reference, the whole
    source (or, for self, the target's test split) as driver."""
    target = load_target(TargetPaths.under(trained_project / "data", "obama"))
    train, test = target.split["train"], target.split["test"]
    assert train == [0, 32] and test == [32, 48]
    n = len(target.fit)

    def rows(table, frames):
        return table.iloc[frames[0]:frames[1]].reset_index(drop=True)

    for mode, frames in (("head", [0, n]), ("face", [0, n]), ("self", test)):
        result, used = condition_target(mode, target, target.fit, target.eyes, 2.0)
        expected = condition(mode, rows(target.fit, frames), rows(target.fit, train),
                             target.identity, target.eyes[frames[0]:frames[1]],
                             target.eyes[train[0]:train[1]], smooth_sigma=2.0)
        assert used == frames
        pd.testing.assert_frame_equal(result.table, expected.table)
        np.testing.assert_array_equal(result.eyes, expected.eyes)


def test_bench_reenact_times_every_step_offline_and_live():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["face_model"].update(ict=str(ICT_NPZ), canonical=str(CANONICAL_OBJ))
    params["videos"] = {"obama": {"path": str(VIDEOS / "obama.mov")},
                        "dpe_man": {"path": str(SOURCE)}}
    params["targets"], params["corpus"] = ["obama"], []
    figures = bench_reenact(params, frames=12)
    assert set(figures) == {"offline", "live"}
    for run, row in figures.items():
        assert set(STEPS) | {"total"} <= set(row), run
        assert all(row[step] > 0 for step in [*STEPS, "total"]), row
    live = figures["live"]
    # Every frame of the clip arrived; each was processed or dropped for a newer one.
    assert live["received"] == 12 and live["processed"] + live["dropped"] == 12
    assert live["processed"] >= 1 and live["median_ms"] > 0
