"""The training loop on a GPU: each mixed-precision mode trains with finite losses and gives a
generator that renders on the CPU, and a run resumed from a checkpoint continues where it stopped.

Skipped without CUDA (CI has no GPU). Unlike on the CPU, a resumed run does not repeat the
uninterrupted one bit for bit: cuDNN's convolution backward kernels accumulate in a
non-deterministic order, so two uninterrupted GPU runs differ as much.
"""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import torch

from h2h.nn.generator import render_sequence
from h2h.nn.generator_file import load_generator
from h2h.nn.images import to_model_range
from h2h.train.checkpoint import load_checkpoint
from h2h.train.loop import train
from h2h.train.rollout import ChunkKey
from tests.support.training import NO_VGG, QUICK, TINY, read_losses

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("amp", ["bf16", "fp16", "none"])
def test_each_precision_trains_and_the_generator_renders_on_the_cpu(tmp_path, dataset, amp):
    result = train(TINY, dataset, tmp_path, dataclasses.replace(QUICK, amp=amp), NO_VGG,
                   device="cuda")
    assert result.completed and result.step == 6
    rows = read_losses(result.losses_csv)
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert all(np.isfinite(v) for row in rows for v in row.values())
    state = load_checkpoint(result.checkpoint)
    assert all(t.device.type == "cpu" for t in state["models"].values())
    # Only fp16 scales the loss (bf16 has float32's range); its scaler state is checkpointed.
    assert bool(state["scaler"]) == (amp == "fp16")
    generator, _ = load_generator(result.generator, "cpu")
    with torch.no_grad():
        conditions = dataset[ChunkKey(0, 0, 0, 0, True)]["conditions"][None]
        frames = render_sequence(generator, to_model_range(conditions), context=2)
    assert frames.shape == (1, 5, 3, 32, 32) and torch.isfinite(frames).all()


def test_resumed_run_continues_at_its_checkpoint(tmp_path, dataset):
    full = train(TINY, dataset, tmp_path / "full", QUICK, NO_VGG, device="cuda")
    (tmp_path / "cut" / "checkpoints").mkdir(parents=True)
    shutil.copy(tmp_path / "full" / "checkpoints" / "step-000000004.pt",
                tmp_path / "cut" / "checkpoints")
    resumed = train(TINY, dataset, tmp_path / "cut", QUICK, NO_VGG, device="cuda")
    assert (resumed.resumed_from, resumed.step, resumed.completed) == (4, 6, True)
    a, b = load_checkpoint(full.checkpoint), load_checkpoint(resumed.checkpoint)
    assert (b["step"], b["epoch"], b["batch_in_epoch"]) == (a["step"], a["epoch"], 0)
    # The step-4 state is the same in both runs, so step 5 (whose losses are computed before its
    # update) matches exactly: same weights, optimiser state, batch and random draws. Step 6
    # follows step 5's backward pass, whose kernels round in a varying order.
    full_rows, resumed_rows = read_losses(full.losses_csv), read_losses(resumed.losses_csv)
    assert [r["step"] for r in resumed_rows] == [5, 6]
    assert resumed_rows[0] == full_rows[4]
    for key, value in full_rows[5].items():
        assert resumed_rows[1][key] == pytest.approx(value, rel=0.1, abs=1e-4), key
    squared = [((a["models"][k] - b["models"][k]).double().norm() ** 2,
                a["models"][k].double().norm() ** 2)
               for k in a["models"] if a["models"][k].is_floating_point()]
    overall = (sum(d for d, _ in squared) / sum(n for _, n in squared)).sqrt().item()
    print(f"relative weight difference, resumed vs uninterrupted: {overall:.2e}")
    assert overall < 1e-2
