import imageio_ffmpeg
import numpy as np
import pytest

from h2h.core.errors import H2HError
from h2h.media.video import VideoWriter, iter_frames, probe, read_metadata, read_video, write_video


def random_frames(n, height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("height,width", [(64, 48), (33, 57), (256, 256)])
def test_lossless_round_trip_is_bit_exact(tmp_path, height, width):
    frames = random_frames(7, height, width)
    write_video(tmp_path / "x.mkv", frames, fps=25, mode="lossless")
    assert np.array_equal(read_video(tmp_path / "x.mkv"), frames)


@pytest.mark.parametrize("mode", ["lossless", "quality", "delivery"])
def test_same_frames_give_the_same_file(tmp_path, mode):
    frames = random_frames(5, 32, 32)
    write_video(tmp_path / "a.mkv", frames, fps=25, mode=mode)
    write_video(tmp_path / "b.mkv", frames, fps=25, mode=mode)
    assert (tmp_path / "a.mkv").read_bytes() == (tmp_path / "b.mkv").read_bytes()


def test_quality_mode_is_visually_lossless_on_a_real_face(tmp_path, sample_videos):
    frames = read_video(sample_videos / "obama.mov", count=20)
    write_video(tmp_path / "q.mkv", frames, fps=25, mode="quality")
    decoded = read_video(tmp_path / "q.mkv").astype(float)
    psnr = 10 * np.log10(255**2 / np.mean((decoded - frames) ** 2))
    assert psnr > 40


@pytest.mark.parametrize("name", ["obama.mov", "dpe_man.mp4", "lp_woman2.mp4"])
def test_probe_matches_ffmpeg_frame_count_and_rate(sample_videos, name):
    path = sample_videos / name
    info = probe(path)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert info.frame_count == frames
    assert info.fps == pytest.approx(frames / seconds, rel=0.01)
    assert sum(1 for _ in iter_frames(path)) == frames


def test_fps_of_written_video_is_exact(tmp_path):
    write_video(tmp_path / "v.mkv", random_frames(12, 16, 16), fps=30000 / 1001)
    info = probe(tmp_path / "v.mkv")
    assert info.frame_count == 12
    assert info.fps == pytest.approx(29.97, abs=0.005)


def test_start_and_count_select_exact_frames(sample_videos):
    path = sample_videos / "dpe_man.mp4"
    everything = read_video(path, count=40)
    window = read_video(path, start=25, count=10)
    assert np.array_equal(window, everything[25:35])


def test_resize_on_decode(sample_videos):
    frames = read_video(sample_videos / "lp_woman2.mp4", count=3, size=(128, 96))
    assert frames.shape == (3, 96, 128, 3)


def test_interrupted_writer_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError):
        with VideoWriter(tmp_path / "x.mkv", fps=25) as writer:
            writer.write(random_frames(1, 16, 16)[0])
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_metadata_tags_round_trip(tmp_path):
    write_video(tmp_path / "m.mp4", random_frames(3, 32, 32), fps=25, mode="delivery",
                metadata={"comment": "synthetic video made by h2h"})
    assert read_metadata(tmp_path / "m.mp4")["comment"] == "synthetic video made by h2h"


@pytest.mark.parametrize("content,reason", [
    (None, "file not found"),
    (b"", "empty"),
    (b"this is not a video at all" * 10, "not a readable video"),
])
def test_unreadable_files_raise_a_clear_error(tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(H2HError, match=reason) as error:
        probe(path)
    assert str(path) in str(error.value)


def test_truncated_video_is_detected(tmp_path, sample_videos):
    data = (sample_videos / "dpe_man.mp4").read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(H2HError, match=str(path)):
        probe(path)
