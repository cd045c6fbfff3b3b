"""Data-parallel training: two gloo processes on the CPU (also where a GPU is present) follow
the single-process loss curve of the same global batch, resume correctly, and write the same
checkpoint format.

The comparison runs in float64. In float32 the curves agree only to about 1e-2 after a few steps,
and not because of data parallelism: a batch of 1 and a batch of 2 use different convolution
kernels (1e-6 apart per frame), the sequential rollout feeds each frame back and instance norm
of the freshly initialised networks amplifies that to 0.2-0.6 % in G's gradients, which Adam's
sign-like first steps turn into visible loss differences. In float64 the logged losses agree to
their float32 rounding (1e-7) and the weights to 1e-8, far below the 2e-4 one Adam step moves
them, so a synchronisation error cannot hide in the tolerance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from h2h.core.errors import H2HError
from h2h.train.checkpoint import load_checkpoint
from h2h.train.data import WindowDataset, open_clip, save_clip
from h2h.train.distributed import launch
from h2h.train.loop import train
from h2h.train.synthetic import synthetic_clip
from tests.support.params import options
from tests.support.training import NO_VGG, TINY, read_losses

OPTIONS = {"epochs": 2, "decay_epochs": 1, "steps_per_epoch": 2, "preview_frames": 0,
           "checkpoint_every": 100}


@pytest.fixture
def float64() -> Iterator[None]:
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def _train_process(clip_dir: Path, out_dir: Path, changes: dict[str, Any]) -> None:
    """One process of the job: loads its own (memory-mapped) data, trains."""
    torch.set_default_dtype(torch.float64)
    train(TINY, WindowDataset([open_clip(clip_dir)], TINY), out_dir, options(**changes),
          NO_VGG, device="cpu")


def test_two_processes_follow_the_single_process_curve_and_resume(tmp_path, float64):
    save_clip(synthetic_clip(40, TINY.resolution), tmp_path / "clip")
    single = train(TINY, WindowDataset([open_clip(tmp_path / "clip")], TINY), tmp_path / "one",
                   options(batch_size=2, **OPTIONS), NO_VGG, device="cpu")
    # Two processes of batch 1 each = the same global batch of 2; interrupted after one step
    # by the time budget (both processes stop at the same step), then resumed to the end.
    ddp_out = tmp_path / "two"
    launch(_train_process, 2, tmp_path / "clip", ddp_out,
           {**OPTIONS, "batch_size": 1, "time_budget_s": 1e-9})
    assert load_checkpoint(ddp_out / "checkpoints" / "step-000000001.pt")["step"] == 1
    launch(_train_process, 2, tmp_path / "clip", ddp_out, {**OPTIONS, "batch_size": 1})

    one, two = read_losses(single.losses_csv), read_losses(ddp_out / "losses.csv")
    assert [r["step"] for r in two] == [1, 2, 3, 4]
    worst = 0.0
    for a, b in zip(one, two):
        assert set(a) == set(b)
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-9), (a["step"], key)
            worst = max(worst, abs(a[key] - b[key]) / max(abs(a[key]), 1e-6))
    print(f"largest relative loss difference, 1 vs 2 processes: {worst:.2e}")

    a, b = load_checkpoint(single.checkpoint), load_checkpoint(ddp_out / "checkpoints" /
                                                               "step-000000004.pt")
    assert set(a) == set(b) and b["world_size"] == 2 and len(b["rng"]) == 2
    assert (b["step"], b["epoch"], b["batch_in_epoch"]) == (4, 2, 0)
    for key, tensor in a["models"].items():
        assert b["models"][key].shape == tensor.shape
        # One Adam step moves a weight by about lr = 2e-4; a synchronisation error shows at that
        # size, rounding (1e-12, a few elements 1e-9) far below it.
        assert torch.allclose(b["models"][key], tensor, rtol=0, atol=1e-7), key
    assert set(a["optim_g"]) == set(b["optim_g"])


def test_a_user_error_in_the_processes_is_one_h2h_error(tmp_path, capfd):
    save_clip(synthetic_clip(12, TINY.resolution), tmp_path / "clip")  # 2 windows
    with pytest.raises(H2HError, match="training process . of 2 stopped"):
        launch(_train_process, 2, tmp_path / "clip", tmp_path / "out", {"batch_size": 4})
    assert "too few for a batch of 4 on each of 2 process(es)" in capfd.readouterr().err
