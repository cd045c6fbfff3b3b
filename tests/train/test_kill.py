"""A training process killed with SIGKILL at an arbitrary step restarts at its last checkpoint."""

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

TRAIN = """
import sys, torch
from h2h.train.data import WindowDataset, open_clip
from h2h.train.loop import train
from tests.support.training import NO_VGG, TINY
from tests.support.params import options
torch.set_num_threads(1)
result = train(TINY, WindowDataset([open_clip(sys.argv[1])], TINY), sys.argv[2],
               options(epochs=50, decay_epochs=10, checkpoint_every=3, preview_frames=0,
                       time_budget_s=float(sys.argv[3])), NO_VGG)
print(result.resumed_from, result.step)
"""


def _steps(csv_path: Path) -> list[int]:
    if not csv_path.is_file():
        return []
    with open(csv_path, newline="") as fh:
        return [int(row["step"]) for row in csv.DictReader(fh) if row.get("l1")]


def _train(clip: Path, out: Path, budget: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true"}
    return subprocess.Popen([sys.executable, "-c", TRAIN, str(clip), str(out), str(budget)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_training_then_restart_continues_at_the_checkpoint(tmp_path):
    save_clip(synthetic_clip(40, 32), tmp_path / "clip")
    out = tmp_path / "run"
    victim = _train(tmp_path / "clip", out, 0)
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

    # Same configuration; a tiny time budget makes the restart stop after one step.
    restart = _train(tmp_path / "clip", out, 1e-9)
    stdout, stderr = restart.communicate(timeout=120)
    assert restart.returncode == 0, stderr
    assert stdout.split() == [str(saved), str(saved + 1)]
    assert _steps(out / "losses.csv") == list(range(1, saved + 2))  # no step twice
    assert load_checkpoint(latest_checkpoint(out / "checkpoints"))["step"] == saved + 1
