"""MLflow tracking of stage runs, training runs included: one writer, :class:`MlflowTracker`.

The default store is a SQLite file at the project root (``sqlite:///mlflow.db``); set
``MLFLOW_TRACKING_URI`` to log to a shared server instead. Each stage logs to the experiment
``h2h-<stage>`` (marked as a model-training experiment, so ``mlflow ui`` opens on its runs
table), each run tagged with the stage, the unit and what it is made of (video, target, source,
mode, variant) and the git state, so ``mlflow ui`` can filter and compare runs. A run is opened
before the work and closed after it, so its duration is the work's.

SQLite tolerates one writer at a time, and Snakemake runs several stages at once, so writes to a
SQLite store are serialised with a lock file beside the database, held only for each write.

Code reports through the small :class:`Tracker` protocol: :class:`NullTracker` ignores
everything (library use, tests, benchmarks), :class:`MlflowTracker` logs to MLflow.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from h2h.core.locks import exclusive

EXPERIMENT_PREFIX = "h2h-"
#: The experiment tag with which ``mlflow ui`` (3.x) opens an experiment on its runs table
#: instead of the GenAI overview.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
LOG = logging.getLogger("h2h.core.tracking")


def tracking_uri(root: str | Path = ".") -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the SQLite store at the project root."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(root).resolve() / 'mlflow.db'}"


def git_state(root: str | Path = ".") -> dict[str, str]:
    """Tags naming the checked-out commit and whether tracked code differs from it.

    dvc.lock and params.yaml are left out of the dirty check: DVC rewrites the lock file during
    every ``dvc repro`` and experiments change params.yaml, which MLflow records as params anyway.
    """
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return result.stdout if result.returncode == 0 else ""

    changed = git("status", "--porcelain", "--untracked-files=no").splitlines()
    code_changed = [line for line in changed
                    if not line[3:].endswith(("dvc.lock", "params.yaml", ".gitignore"))]
    return {"git_commit": git("rev-parse", "HEAD").strip() or "unknown",
            "git_dirty": str(bool(code_changed)).lower()}


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"crop": {"size": 256}}`` -> ``{"crop.size": 256}``, the form MLflow params take."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock while writing to a SQLite store; no-op for other stores."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    with exclusive(Path(uri.removeprefix("sqlite:///") + ".lock")):
        yield


class Tracker(Protocol):
    """Where a long run reports: parameters once, metrics and images per step, files at the end.

    ``start`` opens a new run, or continues ``run_id`` (a resumed training run keeps logging to
    the run it started); ``finish`` closes it with an MLflow status (FINISHED, KILLED, FAILED).
    """

    @property
    def run_id(self) -> str | None: ...

    def start(self, run_id: str | None = None) -> str | None: ...

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None: ...

    def log_image(self, name: str, rgb: np.ndarray, step: int) -> None: ...

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None: ...

    def log_model(self, model: Any, name: str) -> None: ...

    def finish(self, status: str = "FINISHED") -> None: ...


class NullTracker:
    """A :class:`Tracker` that records nothing."""

    run_id: str | None = None

    def start(self, run_id: str | None = None) -> str | None:
        self.run_id = run_id
        return run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        pass

    def log_image(self, name: str, rgb: np.ndarray, step: int) -> None:
        pass

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        pass

    def log_model(self, model: Any, name: str) -> None:
        pass

    def finish(self, status: str = "FINISHED") -> None:
        pass


class MlflowTracker:
    """A :class:`Tracker` logging to experiment ``h2h-<stage>``, run ``<stage>:<unit>``, tagged
    ``stage``, ``unit``, ``tags`` (what the unit is made of) and the git state.

    Every write takes the SQLite lock for just that call, so stages running beside a long
    training run are not blocked for its duration. Nothing touches MLflow before :meth:`start`.
    Params are logged once per run (MLflow params are immutable): a resumed run does not log them
    again; metrics of steps between the checkpoint and the interruption are logged a second time
    by the resumed run.
    """

    def __init__(self, stage: str, unit: str, tags: Mapping[str, str] | None = None,
                 root: str | Path = ".", run_name: str | None = None) -> None:
        self.stage, self.unit = stage, unit
        self.tags = dict(tags or {})
        self.root = Path(root)
        self.run_name = run_name or f"{stage}:{unit}"
        self.uri = tracking_uri(root)
        self.run_id: str | None = None
        self._client: Any = None

    @contextmanager
    def _write(self) -> Iterator[Any]:
        if self._client is None or self.run_id is None:
            raise RuntimeError("MlflowTracker.start() must be called first")
        with store_lock(self.uri):
            yield self._client

    def start(self, run_id: str | None = None) -> str:
        """Continue run ``run_id`` (a resumed training) or start a new one. A run the store does
        not have (another tracking URI, a deleted mlflow.db) is replaced by a new one."""
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        # A stage's stderr is for its own one-line messages, not the store's creation notes.
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
        with store_lock(self.uri):
            self._client = client = MlflowClient(self.uri)
            if run_id is not None:
                try:
                    client.update_run(run_id, status="RUNNING")
                except MlflowException:
                    LOG.warning("MLflow run %s is not in %s: logging to a new run", run_id,
                                self.uri)
                    run_id = None
            if run_id is None:
                experiment = experiment_id(client, EXPERIMENT_PREFIX + self.stage)
                tags = {"stage": self.stage, "unit": self.unit, **self.tags,
                        **git_state(self.root)}
                run_id = client.create_run(experiment, tags=tags,
                                           run_name=self.run_name).info.run_id
        self.run_id = run_id
        return run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        with self._write() as client:
            log_param_batches(client, self.run_id, flatten(params))

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        with self._write() as client:
            client.log_batch(self.run_id, metrics=items)

    def log_image(self, name: str, rgb: np.ndarray, step: int) -> None:
        with self._write() as client:
            client.log_image(self.run_id, np.ascontiguousarray(rgb), key=name, step=step)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        with self._write() as client:
            client.log_artifact(self.run_id, str(path), artifact_path)

    def log_model(self, model: Any, name: str) -> None:
        """``model`` (a torch module) as an MLflow PyTorch model of this run, which
        ``mlflow.pytorch.load_model(f"runs:/{run_id}/{name}")`` loads (it needs h2h installed)."""
        import mlflow
        import mlflow.pytorch

        with self._write():
            mlflow.set_tracking_uri(self.uri)
            with mlflow.start_run(run_id=self.run_id):
                mlflow.pytorch.log_model(model, name=name, serialization_format="pickle",
                                         pip_requirements=[f"torch=={_torch_version()}"])
            self._client.update_run(self.run_id, status="RUNNING")

    def finish(self, status: str = "FINISHED") -> None:
        if self.run_id is None:  # never started: nothing to close
            return
        with self._write() as client:
            client.set_terminated(self.run_id, status)


def log_param_batches(client: Any, run_id: str, params: Mapping[str, Any]) -> None:
    """Log flat ``params`` in batches of at most 100, MLflow's limit per log_batch call."""
    from mlflow.entities import Param

    items = [Param(k, str(v)) for k, v in params.items()]
    for i in range(0, len(items), 100):
        client.log_batch(run_id, params=items[i:i + 100])


def experiment_id(client: Any, name: str) -> str:
    """The id of experiment ``name``, created as a model-training experiment when missing."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(name, tags=EXPERIMENT_KIND)
    if not set(EXPERIMENT_KIND.items()) <= set(experiment.tags.items()):
        for key, value in EXPERIMENT_KIND.items():
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]
