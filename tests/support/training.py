"""Shared pieces of the training tests: a tiny configuration, a recording tracker, state compare."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from h2h.nn.config import ModelConfig
from h2h.train.settings import TrainParams
from tests.support.params import PARAMS, loss, options, profile

#: 32 px, ngf 8, two temporal scales: 5-frame windows.
TINY = profile("tiny", resolution=32, ngf=8, ndf=8, temporal_scales=2)
NO_VGG = loss(lambda_vgg=0)
#: Two epochs of three steps, a checkpoint every two: enough to interrupt and resume mid-epoch.
QUICK = options(epochs=2, decay_epochs=1, steps_per_epoch=3, checkpoint_every=2,
                keep_checkpoints=10, preview_frames=0)


class RecordingTracker:
    """A Tracker that keeps every call, for assertions."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self.started: list[str | None] = []
        self.params: list[dict[str, Any]] = []
        self.metrics: list[tuple[int, dict[str, float]]] = []
        self.images: list[tuple[str, np.ndarray, int]] = []
        self.artifacts: list[tuple[Path, str | None]] = []
        self.models: list[tuple[Any, str]] = []
        self.status: str | None = None

    def start(self, run_id: str | None = None) -> str:
        self.started.append(run_id)
        self.run_id = run_id or "run-1"
        return self.run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.params.append(dict(params))

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self.metrics.append((step, dict(metrics)))

    def log_image(self, name: str, rgb: np.ndarray, step: int) -> None:
        self.images.append((name, rgb, step))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.artifacts.append((Path(path), artifact_path))

    def log_model(self, model: Any, name: str) -> None:
        self.models.append((model, name))

    def finish(self, status: str = "FINISHED") -> None:
        self.status = status


def assert_same_state(a: Any, b: Any, where: str = "") -> None:
    """Nested dicts / lists of tensors and numbers are equal, tensors bit for bit."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, Mapping):
        assert set(a) == set(b), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def read_losses(path: Path) -> list[dict[str, float]]:
    """The rows of a training run's losses.csv as numbers (empty cells left out)."""
    with open(path, newline="") as fh:
        return [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(fh)]


def train_params(**changes: Any) -> TrainParams:
    """params.yaml's ``train`` section with TINY as its profile (the paper's objective and
    learning rate: no L1 term, lr_scale 1) and the loss without VGG."""
    sizes = {f.name: getattr(TINY, f.name) for f in fields(ModelConfig) if f.name != "ablation"}
    profile = {**sizes, "lambda_l1": 0.0, "lr_scale": 1.0}
    return replace(TrainParams.from_params(PARAMS), profile="test", profiles={"test": profile},
                   loss=NO_VGG, **changes)
