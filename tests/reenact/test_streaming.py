import numpy as np
import torch

from h2h.media.label import add_visible_mark, is_labelled_synthetic, mark_mask, synthetic_metadata
from h2h.media.video import write_video
from h2h.nn.generator import Generator, render_sequence
from h2h.nn.images import channels_first, hwc, to_model_range
from h2h.reenact.streaming import StreamingGenerator


def test_streaming_renders_what_render_sequence_renders():
    torch.manual_seed(0)
    generator = Generator(condition_channels=6, window=3, ngf=4, n_blocks=2).eval()
    conditions = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 6), dtype=np.uint8)
    stream = StreamingGenerator(generator)
    streamed = np.stack([stream.step(c) for c in conditions])
    with torch.no_grad():
        batch = to_model_range(channels_first(conditions))[None]
        whole = render_sequence(generator, batch)[0]
    expected = np.stack([hwc(frame) for frame in whole])
    assert np.abs(streamed.astype(int) - expected).max() <= 1  # float rounding at most

    stream.reset()
    assert np.array_equal(stream.step(conditions[0]), streamed[0])


def test_non_sequential_generator_streams_frame_by_frame():
    generator = Generator(condition_channels=3, window=3, ngf=4, n_blocks=2, sequential=False)
    stream = StreamingGenerator(generator)
    out = stream.step(np.zeros((16, 16, 3), np.uint8))
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8


def test_visible_mark_changes_only_a_corner():
    frame = np.full((128, 128, 3), 200, np.uint8)
    marked = add_visible_mark(frame)
    changed = np.argwhere((marked != frame).any(-1))
    assert len(changed) > 50
    assert changed[:, 0].min() > 100 and changed[:, 1].max() < 100  # bottom-left
    inside = mark_mask(128, 128)
    assert inside[tuple(changed.T)].all() and inside.mean() < 0.1


def test_metadata_label_round_trip(tmp_path):
    path = tmp_path / "fake.mp4"
    write_video(path, np.zeros((3, 32, 32, 3), np.uint8), 25, mode="delivery",
                metadata=synthetic_metadata("obama", "dpe_man", "head"))
    assert is_labelled_synthetic(path)
    write_video(tmp_path / "real.mp4", np.zeros((3, 32, 32, 3), np.uint8), 25, mode="delivery")
    assert not is_labelled_synthetic(tmp_path / "real.mp4")
