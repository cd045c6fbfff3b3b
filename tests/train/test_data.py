"""Training inputs built from a real sample video in the stages' file layout (the ``stage_outputs``
fixture): loading, caching, and a short training run whose output moves towards the real
frames."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from h2h.media.video import read_video
from h2h.nn.config import build_models
from h2h.nn.generator_file import load_generator
from h2h.nn.regions import mouth_centres
from h2h.preprocess.flow import warp
from h2h.preprocess.landmarks import points_array
from h2h.train.corpus import CLIP_DIR, save_corpus_clip
from h2h.train.data import WindowDataset, load_clip, load_clips, open_clip
from h2h.train.loop import train
from h2h.train.visuals import render_clip
from tests.support.params import loss, options, profile

SMALL = profile("tiny", ngf=8, ndf=8, temporal_scales=2)


def test_clip_holds_the_train_split_resized_with_scaled_mouths_and_flows(stage_outputs):
    paths, frames, table = stage_outputs
    clip = load_clip(paths, 64)
    assert (clip.name, clip.first_frame, clip.n_frames, clip.fps) == ("obama", 0, 32, 25.0)
    expected = np.stack([cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA)
                         for f in read_video(paths.frames, count=32)])
    assert np.array_equal(clip.real, expected)
    assert clip.nmfc.any(-1).mean() > 0.2 and clip.eyes.any(-1).mean() > 0.001
    assert clip.valid.all() and set(clip.flows) == {1, 2, 4}
    mouth = mouth_centres(points_array(table)[:32])  # pixels of the 256 crop
    assert np.abs((clip.mouth + 0.5) * 4 - 0.5 - mouth).max() < 1e-3
    # The flows, computed at 128 px, are rescaled to 64 px: warping frame t + 2 with them
    # brings it closer to frame t than no motion, or motion at the wrong scale.
    real = clip.real.astype(np.float32)

    def error(scale: float) -> float:
        return float(np.mean([np.abs(warp(real[t + 2], clip.flows[2][t] * scale) - real[t]).mean()
                              for t in range(30)]))

    assert error(1.0) < 0.9 * error(0.0) and error(1.0) < error(2.0)
    assert load_clip(paths, 64, max_frames=20).n_frames == 20
    test = load_clip(paths, 64, split="test", strides=(), eyes=False)
    assert (test.first_frame, test.n_frames, test.eyes, test.flows) == (32, 16, None, {})


def test_a_corpus_clip_is_a_memory_mapped_copy_with_every_stream(stage_outputs, tmp_path):
    paths = stage_outputs[0]
    [direct] = load_clips({"obama": paths}, 64, strides=(1, 2, 4))
    saved = save_corpus_clip(paths, 64, tmp_path, "obama")
    reopened = open_clip(tmp_path / CLIP_DIR)
    assert isinstance(reopened.real, np.memmap) and isinstance(reopened.flows[4], np.memmap)
    assert (saved.name, reopened.n_frames, sorted(reopened.flows)) == ("obama", 32, [1, 2, 4])
    for key in ("real", "nmfc", "eyes", "mouth", "valid"):
        assert np.array_equal(getattr(direct, key), getattr(reopened, key), equal_nan=True), key
    assert all(np.array_equal(direct.flows[s], reopened.flows[s]) for s in (1, 2, 4))


def test_a_short_run_on_real_frames_moves_the_output_towards_them(stage_outputs, tmp_path):
    clip = load_clip(stage_outputs[0], SMALL.resolution, strides=(1, 2))
    dataset = WindowDataset([clip], SMALL)
    conditions = dataset.condition_frames(clip, np.arange(clip.n_frames))
    real = clip.real.astype(np.float32)

    def distance(generator: torch.nn.Module) -> float:
        return float(np.abs(render_clip(generator, conditions, torch.device("cpu")) - real).mean())

    torch.manual_seed(0)  # the seed train() starts from: the networks of step 0
    before = distance(build_models(SMALL).generator)
    config = options(epochs=5, decay_epochs=0, lr=1e-3, checkpoint_every=10, preview_frames=0)
    result = train(SMALL, dataset, tmp_path, config, loss(lambda_vgg=0))
    assert result.step == 30 == len(dataset) * 5
    after = distance(load_generator(result.generator)[0])
    print(f"mean absolute error to the real frames: {before:.1f} at step 0, {after:.1f} after 30")
    assert after < 0.7 * before
    rows = result.losses_csv.read_text().splitlines()
    first, last = (dict(zip(rows[0].split(","), map(float, row.split(","))))
                   for row in (rows[1], rows[-1]))
    assert last["d_image_real"] < first["d_image_real"]  # D learns to call real frames real
    assert last["l1"] < first["l1"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-000000030.pt"]
