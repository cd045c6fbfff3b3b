"""A training process killed with SIGKILL at an arbitrary step restarts at its last checkpoint and
ends exactly where an uninterrupted run ends: the same losses at every step and the same networks,
optimisers, random states and carried rollout history, bit for bit (CPU training repeats exactly),
with augmentation on."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from h2h.train.checkpoint import latest_checkpoint, load_checkpoint
from h2h.train.data import save_clip
from h2h.train.synthetic import synthetic_clip
from tests.support.project import ROOT
from tests.support.training import assert_same_state

TRAIN = """
import sys, torch
from h2h.train.augment import Augmentation
from h2h.train.data import WindowDataset, open_clip
from h2h.train.loop import train
from tests.support.training import NO_VGG, TINY
from tests.support.params import options
torch.set_num_threads(1)
dataset = WindowDataset([open_clip(sys.argv[1])], TINY, Augmentation(0.01, 0.01, 0.02, 2.0))
result = train(TINY, dataset, sys.argv[2],
               options(epochs=6, decay_epochs=2, checkpoint_every=3, preview_frames=0,
                       keep_checkpoints=1), NO_VGG, device="cpu")
print(result.resumed_from, result.step)
"""


def _steps(csv_path: Path) -> list[int]:
    if not csv_path.is_file():
        return []
    with open(csv_path, newline="") as fh:
        return [int(row["step"]) for row in csv.DictReader(fh) if row.get("l1")]


def _train(clip: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true"}
    return subprocess.Popen([sys.executable, "-c", TRAIN, str(clip), str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> list[str]:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    return stdout.split()


def test_sigkill_mid_training_then_restart_ends_as_the_uninterrupted_run(tmp_path):
    save_clip(synthetic_clip(40, 32), tmp_path / "clip")  # 7 chunks an epoch: 42 steps
    whole = _train(tmp_path / "clip", tmp_path / "whole")
    out = tmp_path / "run"
    victim = _train(tmp_path / "clip", out)
    deadline = time.monotonic() + 300
    # Kill once a checkpoint exists and training has gone past it (steps logged after it).
    while time.monotonic() < deadline and victim.poll() is None:
        checkpoint = latest_checkpoint(out / "checkpoints")
        if checkpoint is not None and len(_steps(out / "losses.csv")) % 3 == 1:
            break
        time.sleep(0.02)
    assert victim.poll() is None, victim.communicate()[1]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    saved = load_checkpoint(latest_checkpoint(out / "checkpoints"))["step"]
    logged = _steps(out / "losses.csv")
    assert 3 <= saved < 42 and saved % 3 == 0 and logged[-1] > saved

    assert _finish(_train(tmp_path / "clip", out)) == [str(saved), "42"]
    assert _finish(whole) == ["0", "42"]
    assert _steps(out / "losses.csv") == list(range(1, 43))  # no step twice
    # The same numbers as the uninterrupted run, step by step, and the same final state.
    assert (out / "losses.csv").read_text() == (tmp_path / "whole" / "losses.csv").read_text()
    a = load_checkpoint(latest_checkpoint(tmp_path / "whole" / "checkpoints"))
    b = load_checkpoint(latest_checkpoint(out / "checkpoints"))
    for key in ("step", "models", "optim_g", "optim_d", "sched_g", "sched_d", "rng", "carry"):
        assert_same_state(a[key], b[key], key)
