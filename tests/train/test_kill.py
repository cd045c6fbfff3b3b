"""A training process killed with SIGKILL at an arbitrary step restarts at its last checkpoint and
ends exactly where an uninterrupted run ends: the same losses at every step and the same networks,
optimisers and random states, bit for bit (CPU training repeats exactly)."""

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
from h2h.train.data import WindowDataset, open_clip
from h2h.train.loop import train
from tests.support.training import NO_VGG, TINY
from tests.support.params import options
torch.set_num_threads(1)
result = train(TINY, WindowDataset([open_clip(sys.argv[1])], TINY), sys.argv[2],
               options(epochs=5, decay_epochs=2, checkpoint_every=3, preview_frames=0), NO_VGG,
               device="cpu")
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


def _finish(process: subprocess.Popen) -> list[int]:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    return [int(value) for value in stdout.split()]


def test_a_run_killed_mid_training_ends_as_the_uninterrupted_run_bit_for_bit(tmp_path):
    save_clip(synthetic_clip(40, 32), tmp_path / "clip")
    out = tmp_path / "run"
    victim = _train(tmp_path / "clip", out)
    deadline = time.monotonic() + 120
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
    assert saved >= 3 and saved % 3 == 0 and logged[-1] > saved

    # The same configuration again continues at the checkpoint; an uninterrupted run beside it.
    restart, uninterrupted = (_train(tmp_path / "clip", out),
                              _train(tmp_path / "clip", tmp_path / "uninterrupted"))
    [resumed_from, step], [_, total] = _finish(restart), _finish(uninterrupted)
    assert (resumed_from, step) == (saved, total) and total == 40
    assert _steps(out / "losses.csv") == list(range(1, total + 1))  # no step twice
    assert (out / "losses.csv").read_text() == (
        tmp_path / "uninterrupted" / "losses.csv").read_text()
    a = load_checkpoint(latest_checkpoint(out / "checkpoints"))
    b = load_checkpoint(latest_checkpoint(tmp_path / "uninterrupted" / "checkpoints"))
    for key in ("step", "models", "optim_g", "optim_d", "sched_g", "sched_d", "rng"):
        assert_same_state(a[key], b[key], key)
