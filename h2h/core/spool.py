"""Stage runs recorded in MLflow without making the stage wait for MLflow.

Importing MLflow and opening its store cost a stage process about 2.8 s of CPU, more than most
per-video stages' own work (the eyes stage: 0.5 s), and ``dvc repro`` runs them one after the
other. So a stage run does not talk to MLflow itself: :class:`SpooledTracker` keeps what the run
logs (its parameters, metrics, pictures, files and the start and end times of the work) and,
when the run ends, writes it as one record into the project's spool (``.h2h/runs/``, written
under a temporary name and renamed, so a record is complete or absent) and starts a writer
process in the background. The writer (``python -m h2h.core.spool``) ingests every record into
the MLflow store, each as a run with the stage's times, status, tags and values, and deletes it;
one writer at a time, which keeps going while records arrive. The run shows in MLflow a few
seconds after its stage ended; :func:`ingest` (tests, scripts) waits until every record is in.

A record survives a writer that dies: the next stage's writer, or :func:`ingest`, takes it up.
A record MLflow refuses is moved to ``.h2h/runs/failed/`` with the error beside it. Inside a
SLURM job, where the job's processes end with it, the stage ingests its own record before it
exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from h2h.core.tracking import (
    EXPERIMENT_PREFIX,
    experiment_id,
    flatten,
    git_state,
    log_param_batches,
    store_lock,
    tracking_uri,
)

SPOOL = Path(".h2h") / "runs"
RECORD = "run.json"


def spool_dir(root: str | Path = ".") -> Path:
    return Path(root).resolve() / SPOOL


def _now_ms() -> int:
    return int(time.time() * 1000)


class SpooledTracker:
    """A :class:`h2h.core.tracking.Tracker` for stage runs: logs to experiment
    ``h2h-<stage>``, run ``<stage>:<unit>``, tagged ``stage``, ``unit``, ``tags`` and the git
    state, through the spool (see the module docstring). The run's start and end times are
    those of :meth:`start` and :meth:`finish`, so the run spans the work. A stage logs no
    models (training runs log theirs through :class:`h2h.core.tracking.MlflowTracker`)."""

    def __init__(self, stage: str, unit: str, tags: Mapping[str, str] | None = None,
                 root: str | Path = ".") -> None:
        self.stage, self.unit = stage, unit
        self.tags = dict(tags or {})
        self.root = Path(root)
        self.run_id: str | None = None  # MLflow assigns it when the record is ingested
        self._record: dict[str, Any] = {}
        self._files: list[tuple[Path, str]] = []  # (source, name in the record)
        self._images: list[tuple[str, np.ndarray, int]] = []

    def start(self, run_id: str | None = None) -> str | None:
        if run_id is not None:
            raise ValueError("a spooled stage run cannot continue an earlier MLflow run")
        self._record = {
            "uri": tracking_uri(self.root), "experiment": EXPERIMENT_PREFIX + self.stage,
            "run_name": f"{self.stage}:{self.unit}", "start_time": _now_ms(),
            "tags": {"stage": self.stage, "unit": self.unit, **self.tags,
                     **git_state(self.root)},
            "params": {}, "metrics": [], "artifacts": [], "images": [],
        }
        return None

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._record["params"].update({k: str(v) for k, v in flatten(params).items()})

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        now = _now_ms()
        self._record["metrics"] += [[k, float(v), now, step] for k, v in metrics.items()]

    def log_image(self, name: str, rgb: np.ndarray, step: int) -> None:
        self._images.append((name, np.ascontiguousarray(rgb), step))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._files.append((Path(path), artifact_path or ""))

    def log_model(self, model: Any, name: str) -> None:
        raise NotImplementedError("stage runs log no models; training logs its generator "
                                  "through MlflowTracker")

    def finish(self, status: str = "FINISHED") -> None:
        """Write the record and have it ingested (see the module docstring)."""
        if not self._record:  # never started: nothing to record
            return
        self._record.update(status=status, end_time=_now_ms())
        spool = spool_dir(self.root)
        name = f"{self._record['start_time']}-{self.stage}-{uuid.uuid4().hex[:8]}"
        partial = spool / f".{name}.partial"
        (partial / "files").mkdir(parents=True)
        for index, (source, artifact_path) in enumerate(self._files):
            stored = partial / "files" / str(index) / source.name  # MLflow keeps the name
            stored.parent.mkdir()
            shutil.copy2(source, stored)  # the stage's output may change before ingestion
            self._record["artifacts"].append([f"{index}/{source.name}", artifact_path])
        for index, (key, rgb, step) in enumerate(self._images):
            np.save(partial / "files" / f"image-{index}.npy", rgb)
            self._record["images"].append([f"image-{index}.npy", key, step])
        (partial / RECORD).write_text(json.dumps(self._record))
        os.replace(partial, spool / name)
        self._record = {}
        if os.environ.get("SLURM_JOB_ID"):
            ingest(self.root)
        else:
            start_writer(self.root)


def start_writer(root: str | Path = ".") -> None:
    """Start the background writer (it exits at once when another one is running)."""
    subprocess.Popen([sys.executable, "-m", "h2h.core.spool", str(Path(root).resolve())],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True,
                     env={**os.environ, "PYTHONPATH": _import_path()})


def _import_path() -> str:
    """PYTHONPATH for the writer: wherever this h2h was imported from comes first."""
    package_parent = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return package_parent + (os.pathsep + existing if existing else "")


@contextlib.contextmanager
def _writer_lock(spool: Path, wait: bool) -> Iterator[bool]:
    """The one-writer lock; yields whether it was obtained (always, when ``wait``)."""
    spool.mkdir(parents=True, exist_ok=True)
    with open(spool / "writer.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pending(root: str | Path = ".") -> list[Path]:
    """Records waiting to be ingested, oldest first."""
    spool = spool_dir(root)
    if not spool.is_dir():
        return []
    return sorted(p for p in spool.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name != "failed")


def failed(root: str | Path = ".") -> list[Path]:
    """Records MLflow refused (each with its error in ``error.txt``)."""
    folder = spool_dir(root) / "failed"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def ingest(root: str | Path = ".", wait: bool = True) -> int:
    """Ingest every pending record into MLflow; returns how many this call ingested. ``wait``:
    wait for a running writer and then take over (every record is in MLflow on return), else
    return 0 at once when another writer runs. After releasing the lock the spool is looked
    at once more, so a record written while this writer was finishing is not left behind."""
    spool = spool_dir(root)
    done = 0
    while True:
        with _writer_lock(spool, wait) as mine:
            if not mine:
                return done
            clients: dict[str, Any] = {}
            while records := pending(root):
                done += sum(_ingest_one(record, clients) for record in records)
        if not pending(root):
            return done
        wait = False


def _ingest_one(record: Path, clients: dict[str, Any]) -> bool:
    """Log one record and delete it; a record MLflow refuses goes to ``failed/``."""
    try:
        _log_record(record, clients)
    except Exception:  # noqa: BLE001 (kept aside with its error, the others go on)
        target = record.parent / "failed" / record.name
        target.parent.mkdir(exist_ok=True)
        os.replace(record, target)
        (target / "error.txt").write_text(traceback.format_exc())
        return False
    shutil.rmtree(record)
    return True


def _log_record(record: Path, clients: dict[str, Any]) -> None:
    from mlflow import MlflowClient

    data = json.loads((record / RECORD).read_text())
    uri = data["uri"]
    with store_lock(uri):
        if uri not in clients:
            clients[uri] = MlflowClient(uri)
        client = clients[uri]
        started = record / "run_id"
        if started.exists():  # a writer died half-way through this record: start again
            client.delete_run(started.read_text())
        run_id = client.create_run(experiment_id(client, data["experiment"]),
                                   start_time=data["start_time"], tags=data["tags"],
                                   run_name=data["run_name"]).info.run_id
        started.write_text(run_id)
        try:
            _log_values(client, run_id, record, data)
        except Exception:
            client.delete_run(run_id)  # no half-logged run next to the refused record
            raise


def _log_values(client: Any, run_id: str, record: Path, data: dict[str, Any]) -> None:
    from mlflow.entities import Metric

    log_param_batches(client, run_id, data["params"])
    metrics = [Metric(k, v, t, step) for k, v, t, step in data["metrics"]]
    if metrics:
        client.log_batch(run_id, metrics=metrics)
    for name, key, step in data["images"]:
        client.log_image(run_id, np.load(record / "files" / name), key=key, step=step)
    for name, artifact_path in data["artifacts"]:
        client.log_artifact(run_id, str(record / "files" / name), artifact_path or None)
    client.set_terminated(run_id, data["status"], end_time=data["end_time"])


if __name__ == "__main__":
    ingest(sys.argv[1], wait=False)
