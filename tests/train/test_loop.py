"""Mechanics of the training loop on a synthetic clip: windows, resume, checkpoints, schedule,
time budget, initialisation from a pretrained run, tracking calls, ablations, benchmark."""

from __future__ import annotations

import dataclasses
import logging
import shutil

import numpy as np
import pytest
import torch

from h2h.bench.training import benchmark
from h2h.core.errors import H2HError
from h2h.nn.config import Ablation, build_models
from h2h.nn.generator import Generator, render_sequence
from h2h.nn.generator_file import load_generator
from h2h.nn.images import to_model_range
from h2h.nn.vgg import VGG19Features
from h2h.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from h2h.train.data import WindowDataset
from h2h.train.loop import train
from h2h.train.synthetic import synthetic_clip
from tests.support.params import loss, options
from tests.support.training import (
    NO_VGG,
    QUICK,
    TINY,
    RecordingTracker,
    assert_same_state,
)


def test_windows_carry_context_skip_invalid_frames_and_slice_flows():
    clip = synthetic_clip(40, 32, invalid=[14])
    ds = WindowDataset([clip], TINY)
    assert (ds.length, ds.context, ds.step) == (5, 2, 5)
    # Windows start every 5 frames. Frame 14 rules out the window of frames 10..14 and the one of
    # frames 15..19, whose first output needs the conditions of frames 13 and 14.
    assert ds.index[:, 1].tolist() == [0, 5, 20, 25, 30, 35]
    first = ds[0]
    assert first["conditions"].shape == (7, 6, 32, 32)
    assert first["conditions"].dtype == torch.uint8
    # Before frame 0 the first frame is repeated (render_sequence's convention).
    assert torch.equal(first["conditions"][0], first["conditions"][2])
    later = ds[2]  # frames 20..24, context frames 18, 19
    nmfc = torch.from_numpy(clip.nmfc[18:25]).permute(0, 3, 1, 2)
    eyes = torch.from_numpy(clip.eyes[18:25]).permute(0, 3, 1, 2)
    assert torch.equal(later["conditions"], torch.cat([nmfc, eyes], 1))
    assert torch.equal(later["real"], torch.from_numpy(clip.real[20:25]).permute(0, 3, 1, 2))
    assert set(later["flows"]) == {1, 2}
    assert later["flows"][2].shape == (3, 2, 32, 32)
    assert np.array_equal(later["flows"][2].permute(0, 2, 3, 1).numpy(), clip.flows[2][20:23])
    assert torch.equal(later["mouth"], torch.from_numpy(clip.mouth[20:25]))


def test_step_option_and_ablated_inputs():
    clip = synthetic_clip(40, 32, eyes=False)
    no_eyes = dataclasses.replace(TINY, ablation=Ablation(no_eyes=True, no_dynamics_d=True))
    ds = WindowDataset([clip], no_eyes, step=1)
    # Without D_D the windows stay as long as the full model's, so G still sees its own frames.
    assert ds.length == 5 and len(ds) == 36
    assert ds[0]["conditions"].shape[1] == 3 and ds[0]["flows"] == {}
    with pytest.raises(H2HError, match="without eye sketches"):
        WindowDataset([clip], TINY)
    with pytest.raises(H2HError, match="px"):
        WindowDataset([synthetic_clip(20, 64)], TINY)


def test_resumed_run_reaches_the_uninterrupted_state_bit_for_bit(tmp_path, dataset):
    # Bit for bit on the CPU; test_train_cuda.py checks resuming on a GPU, whose kernels are not
    # deterministic.
    full = train(TINY, dataset, tmp_path / "full", QUICK, NO_VGG, device="cpu")
    assert full.completed and full.step == full.total_steps == 6
    assert [int(p.stem[5:]) for p in list_checkpoints(tmp_path / "full" / "checkpoints")] == \
        [2, 4, 6]
    # An interrupted run: only the step-4 checkpoint (epoch 1, batch 1 of 3) survived.
    (tmp_path / "cut" / "checkpoints").mkdir(parents=True)
    shutil.copy(tmp_path / "full" / "checkpoints" / "step-000000004.pt",
                tmp_path / "cut" / "checkpoints")
    resumed = train(TINY, dataset, tmp_path / "cut", QUICK, NO_VGG, device="cpu")
    assert resumed.resumed_from == 4 and resumed.step == 6 and resumed.completed
    a = load_checkpoint(full.checkpoint)
    b = load_checkpoint(resumed.checkpoint)
    for key in ("models", "optim_g", "optim_d", "sched_g", "sched_d", "epoch", "batch_in_epoch"):
        assert_same_state(a[key], b[key], key)
    assert (a["epoch"], a["batch_in_epoch"]) == (2, 0)
    rows_full = full.losses_csv.read_text().splitlines()
    rows_cut = resumed.losses_csv.read_text().splitlines()
    assert rows_cut == [rows_full[0], *rows_full[5:]]  # header, steps 5 and 6: same numbers


def test_checkpoint_and_generator_load_with_weights_only(tmp_path, dataset):
    result = train(TINY, dataset, tmp_path, dataclasses.replace(QUICK, epochs=1,
                                                                decay_epochs=0), NO_VGG)
    state = torch.load(result.checkpoint, weights_only=True)
    assert {"models", "optim_g", "optim_d", "sched_g", "sched_d", "scaler", "rng", "step",
            "epoch", "batch_in_epoch", "config", "run_id"} <= set(state)
    assert state["config"]["model"]["ablation"]["no_eyes"] is False
    assert state["config"]["data"]["windows"] == len(dataset)
    torch.load(result.generator, weights_only=True)
    generator, config = load_generator(result.generator)
    assert config == TINY
    models = build_models(TINY)
    models.load_state_dict(state["models"])
    x = to_model_range(dataset[0]["conditions"][None])
    with torch.no_grad():
        assert torch.equal(render_sequence(generator, x, context=2),
                           render_sequence(models.generator, x, context=2))
    with pytest.raises(H2HError, match="not a generator file"):
        load_generator(result.checkpoint)


def test_another_configuration_is_not_resumed(tmp_path, dataset, caplog):
    first = train(TINY, dataset, tmp_path, dataclasses.replace(QUICK, time_budget_s=1e-9),
                  NO_VGG)
    assert (first.step, first.completed) == (1, False)
    # Operational options (budget, checkpoint interval) may change: the run continues.
    again = train(TINY, dataset, tmp_path, dataclasses.replace(QUICK, time_budget_s=1e-9,
                                                               checkpoint_every=5), NO_VGG)
    assert (again.resumed_from, again.step) == (1, 2)
    with caplog.at_level(logging.WARNING, logger="h2h.train"):
        fresh = train(TINY, dataset, tmp_path, dataclasses.replace(QUICK, lr=1e-3), NO_VGG)
    assert fresh.resumed_from == 0 and fresh.completed
    assert "not resumed" in caplog.text and "train.lr: 0.0002 -> 0.001" in caplog.text
    assert latest_checkpoint(tmp_path / "checkpoints.stale").name == "step-000000002.pt"
    assert load_checkpoint(fresh.checkpoint)["config"]["train"]["lr"] == 1e-3


def test_time_budget_stops_with_outputs_and_the_next_call_finishes(tmp_path, dataset):
    config = dataclasses.replace(QUICK, checkpoint_every=100, time_budget_s=1e-9)
    stopped = train(TINY, dataset, tmp_path, config, NO_VGG)
    assert (stopped.step, stopped.completed) == (1, False)
    assert stopped.generator.is_file() and stopped.checkpoint.name == "step-000000001.pt"
    done = train(TINY, dataset, tmp_path, dataclasses.replace(config, time_budget_s=0), NO_VGG)
    assert (done.resumed_from, done.step, done.completed) == (1, 6, True)
    assert [line.split(",")[0] for line in done.losses_csv.read_text().splitlines()[1:]] == \
        ["1", "2", "3", "4", "5", "6"]


def test_learning_rate_decays_linearly_to_zero_over_the_last_epochs(tmp_path, dataset):
    tracker = RecordingTracker()
    config = dataclasses.replace(QUICK, epochs=4, decay_epochs=2, steps_per_epoch=1, lr=1e-3)
    result = train(TINY, dataset, tmp_path, config, NO_VGG, tracker=tracker)
    assert [m["lr_g"] for _, m in tracker.metrics] == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4])
    assert [m["lr_d"] for _, m in tracker.metrics] == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4])
    state = load_checkpoint(result.checkpoint)
    assert state["sched_g"]["_last_lr"] == [0.0] and state["optim_d"]["param_groups"][0]["lr"] == 0


def test_finetuning_starts_from_pretrained_networks_with_fresh_optimisers(tmp_path, dataset):
    pretrained = train(TINY, dataset, tmp_path / "pre", QUICK, NO_VGG)
    frozen = dataclasses.replace(QUICK, epochs=1, decay_epochs=0, steps_per_epoch=2, lr=0.0)
    tuned = train(TINY, dataset, tmp_path / "tune", frozen, NO_VGG,
                  init_from=tmp_path / "pre" / "checkpoints")
    a, b = load_checkpoint(pretrained.checkpoint), load_checkpoint(tuned.checkpoint)
    assert_same_state(a["models"], b["models"])  # lr 0: the networks stay as loaded
    steps = {s["step"].item() for s in b["optim_g"]["state"].values()}
    assert steps == {2.0}  # Adam restarted (the pretrained optimiser had made 6 steps)
    other = dataclasses.replace(TINY, ngf=16)
    with pytest.raises(H2HError, match="ngf: 8 -> 16"):
        train(other, WindowDataset(dataset.clips, other), tmp_path / "bad", frozen, NO_VGG,
              init_from=pretrained.checkpoint)


def test_tracker_gets_params_once_every_term_images_previews_and_the_model(tmp_path, dataset):
    tracker = RecordingTracker()
    config = dataclasses.replace(QUICK, preview_frames=6, sample_every=4)
    train(TINY, dataset, tmp_path, dataclasses.replace(config, time_budget_s=1e-9), NO_VGG,
          tracker=tracker)
    assert tracker.started == [None] and tracker.status == "KILLED"
    assert tracker.params[0]["train.lr"] == 2e-4 and tracker.params[0]["data.windows"] == 8
    train(TINY, dataset, tmp_path, config, NO_VGG, tracker=tracker)
    assert tracker.started == [None, "run-1"] and len(tracker.params) == 1  # resumed run
    assert tracker.status == "FINISHED"
    assert [step for step, _ in tracker.metrics] == [1, 2, 3, 4, 5, 6]
    terms = {"g_adv_image", "g_feat_image", "g_adv_mouth", "g_adv_dynamics", "g_feat_dynamics",
             "g_total", "d_image_real", "d_image_fake", "d_mouth_real", "d_mouth_fake",
             "d_dynamics_real", "d_dynamics_fake", "d_total", "l1", "lr_g", "lr_d", "it_per_s"}
    assert set(tracker.metrics[-1][1]) == terms
    # Sample grids (condition | fake | real, one row per batch item) at step 4 and each epoch end.
    assert [(name, step) for name, _, step in tracker.images] == [("samples", 3), ("samples", 4),
                                                                 ("samples", 6)]
    assert tracker.images[0][1].shape == (32, 96, 3) and tracker.images[0][1].dtype == np.uint8
    logged = {(p.name, where) for p, where in tracker.artifacts}
    assert {("epoch-001.mp4", "previews"), ("epoch-002.mp4", "previews"),
            ("losses.csv", None)} <= logged
    # The generator as an MLflow model at the end of each call (the stopped one included).
    assert [name for _, name in tracker.models] == ["generator", "generator"]
    assert isinstance(tracker.models[-1][0], Generator)


@pytest.mark.parametrize("ablation", [
    Ablation(),
    Ablation(no_feature_matching=True),
    Ablation(no_vgg=True),
    Ablation(no_sequential_g=True),
    Ablation(no_dynamics_d=True),
    Ablation(no_mouth_d=True),
    Ablation(no_eyes=True),
], ids=lambda a: a.label)
def test_every_ablation_trains_a_step(tmp_path, ablation):
    config = dataclasses.replace(TINY, ablation=ablation)
    clip = synthetic_clip(10, 32, eyes=not ablation.no_eyes)
    tracker = RecordingTracker()
    result = train(config, WindowDataset([clip], config), tmp_path,
                   options(epochs=1, decay_epochs=0, steps_per_epoch=1, preview_frames=2),
                   loss(lambda_vgg=10.0), vgg_weights=VGG19Features(), tracker=tracker)
    assert result.completed and result.step == 1
    logged = set(tracker.metrics[0][1])
    assert ("g_vgg" in logged) == (not ablation.no_vgg)
    assert ("g_feat_image" in logged) == (not ablation.no_feature_matching)
    assert ("d_mouth_real" in logged) == (not ablation.no_mouth_d)
    assert ("d_dynamics_real" in logged) == (not ablation.no_dynamics_d)
    assert all(np.isfinite(v) for v in tracker.metrics[0][1].values())
    generator, loaded = load_generator(result.generator)
    assert loaded == config and generator.sequential == (not ablation.no_sequential_g)


def test_benchmark_reports_training_and_inference_speed():
    figures = benchmark(TINY, options(), NO_VGG, steps=1)
    assert figures["sequence_length"] == 5 and figures["resolution"] == 32
    for key in ("train_it_per_s", "train_frames_per_s", "g_inference_fps", "peak_rss_mb"):
        assert figures[key] > 0, key
    assert figures["train_frames_per_s"] == pytest.approx(5 * figures["train_it_per_s"])
