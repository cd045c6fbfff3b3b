"""Fixtures of the training tests: one thread each, a small synthetic dataset, an MLflow store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from h2h.train.data import WindowDataset
from h2h.train.synthetic import synthetic_clip
from tests.support.training import TINY


@pytest.fixture(autouse=True)
def single_thread(one_thread: None) -> Iterator[None]:
    """Every training test runs with one torch thread (see the ``one_thread`` fixture)."""
    yield


@pytest.fixture(scope="module")
def dataset() -> WindowDataset:
    """Windows of a 40-frame synthetic clip at TINY's resolution."""
    return WindowDataset([synthetic_clip(40, TINY.resolution)], TINY)


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store, its schema created once (it takes seconds)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_template: Path) -> str:
    """A fresh copy of the empty store in ``tmp_path``, the working directory of the test (MLflow
    puts artifacts beside it), set as the tracking URI; returns the URI."""
    shutil.copy(mlflow_template, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
