"""MLflow logging for stage runs.

The default store is a SQLite file at the project root (``sqlite:///mlflow.db``); set
``MLFLOW_TRACKING_URI`` to log to a shared server instead. Each stage logs to the experiment
``h2h-<stage>``, tagged with the stage, the unit (video or target) and the git commit, so
``mlflow ui`` can filter and compare runs.

SQLite tolerates one writer at a time, and Snakemake runs several stages at once, so writes to a
SQLite store are serialised with a lock file beside the database.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXPERIMENT_PREFIX = "h2h-"


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
    lock_path = Path(uri.removeprefix("sqlite:///") + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def log_stage_run(
    stage: str,
    unit: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifacts: list[Path] | tuple[Path, ...] = (),
    tags: Mapping[str, str] | None = None,
    root: str | Path = ".",
) -> str:
    """Record one finished stage run in one go and return its MLflow run id.

    The run is tagged ``stage``, ``git_commit``, ``git_dirty`` and ``tags`` (what the unit is,
    e.g. ``video=obama``).
    """
    import mlflow

    uri = tracking_uri(root)
    with store_lock(uri):
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(EXPERIMENT_PREFIX + stage)
        all_tags = {"stage": stage, **(tags or {}), **git_state(root)}
        with mlflow.start_run(run_name=f"{stage}:{unit}", tags=all_tags) as run:
            mlflow.log_params(flatten(params))
            mlflow.log_metrics({key: float(value) for key, value in metrics.items()})
            for artifact in artifacts:
                mlflow.log_artifact(str(artifact))
        return run.info.run_id
