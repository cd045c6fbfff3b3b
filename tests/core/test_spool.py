"""Stage runs through the spool: the stage process never loads MLflow, the writer records each
run with the stage's own times and values, a half-written or refused record is handled."""

import subprocess
import sys
import textwrap

import pytest
from mlflow import MlflowClient

from h2h.core.spool import SpooledTracker, failed, ingest, pending
from tests.support.project import ROOT


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


def client(project) -> MlflowClient:
    return MlflowClient(f"sqlite:///{project / 'mlflow.db'}")


def stage_run(project, unit="obama", value=1.0, params=None):
    picture = project / f"{unit}.png"
    picture.write_bytes(b"a picture")
    tracker = SpooledTracker("crop", unit, {"video": unit}, root=project)
    tracker.start()
    tracker.log_params(params or {"crop": {"size": 256, "box": "median"}})
    tracker.log_metrics({"wall_s": value, "frames": 24}, step=0)
    tracker.log_artifact(picture)
    tracker.finish("FINISHED")
    picture.write_bytes(b"the next run's picture")  # the record keeps this run's file
    return tracker


def test_a_stage_process_records_its_run_without_loading_mlflow(project):
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from h2h.core.spool import SpooledTracker, start_writer
        import h2h.core.spool as spool
        spool.start_writer = lambda root: None  # leave the record for the test
        tracker = SpooledTracker("eyes", "obama", root=Path({str(project)!r}))
        tracker.start()
        tracker.log_metrics({{"frames": 3}}, step=0)
        tracker.finish("FINISHED")
        print("mlflow" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"
    assert len(pending(project)) == 1
    assert ingest(project) == 1 and pending(project) == []
    [run] = client(project).search_runs(
        [client(project).get_experiment_by_name("h2h-eyes").experiment_id])
    assert run.info.status == "FINISHED" and run.data.metrics["frames"] == 3


def test_the_writer_records_the_stage_times_values_and_files(project, monkeypatch):
    monkeypatch.setattr("h2h.core.spool.start_writer", lambda root: None)
    tracker = SpooledTracker("crop", "obama", {"video": "obama"}, root=project)
    tracker.start()
    started = tracker._record["start_time"]
    picture = project / "preview.png"
    picture.write_bytes(b"a picture")
    tracker.log_params({"crop": {"size": 256}})
    tracker.log_metrics({"wall_s": 0.5}, step=0)
    tracker.log_artifact(picture)
    tracker.finish("FAILED")
    picture.write_bytes(b"the next run's picture")
    assert ingest(project) == 1
    mlflow = client(project)
    experiment = mlflow.get_experiment_by_name("h2h-crop")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    [run] = mlflow.search_runs([experiment.experiment_id])
    assert run.info.start_time == started and run.info.end_time >= started
    assert run.info.status == "FAILED" and run.info.run_name == "crop:obama"
    assert run.data.params == {"crop.size": "256"} and run.data.metrics == {"wall_s": 0.5}
    assert run.data.tags["video"] == "obama" and run.data.tags["stage"] == "crop"
    assert "git_commit" in run.data.tags
    [artifact] = mlflow.list_artifacts(run.info.run_id)
    local = mlflow.download_artifacts(run.info.run_id, artifact.path, str(project / "dl"))
    assert artifact.path == "preview.png" and open(local, "rb").read() == b"a picture"


def test_a_half_ingested_record_is_ingested_again_once(project, monkeypatch):
    monkeypatch.setattr("h2h.core.spool.start_writer", lambda root: None)
    stage_run(project)
    [record] = pending(project)
    mlflow = client(project)
    experiment = mlflow.create_experiment("h2h-crop")
    partial = mlflow.create_run(experiment).info.run_id  # what a writer killed mid-way left
    (record / "run_id").write_text(partial)
    assert ingest(project) == 1
    runs = mlflow.search_runs([experiment])
    assert len(runs) == 1 and runs[0].info.run_id != partial
    assert mlflow.get_run(partial).info.lifecycle_stage == "deleted"


def test_a_refused_record_is_set_aside_and_the_others_go_in(project, monkeypatch):
    monkeypatch.setattr("h2h.core.spool.start_writer", lambda root: None)
    stage_run(project, "obama", params={"crop": {"size": 256}})
    stage_run(project, "dpe_man", params={"crop": {"size?": 256}})  # a name MLflow refuses
    assert ingest(project) == 1
    [refused] = failed(project)
    assert "dpe_man" in (refused / "run.json").read_text()
    assert "crop.size?" in (refused / "error.txt").read_text()
    runs = client(project).search_runs(
        [client(project).get_experiment_by_name("h2h-crop").experiment_id])
    assert [r.data.tags["video"] for r in runs] == ["obama"]


def test_in_a_slurm_job_the_stage_ingests_its_own_record(project, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setattr("h2h.core.spool.start_writer", lambda root: pytest.fail("no writer"))
    stage_run(project)
    assert pending(project) == [] and len(client(project).search_runs(
        [client(project).get_experiment_by_name("h2h-crop").experiment_id])) == 1


def test_the_background_writer_ingests_what_a_stage_leaves(project):
    stage_run(project)  # starts the writer process
    ingest(project)  # waits for it
    assert pending(project) == [] and failed(project) == []
    assert len(client(project).search_runs(
        [client(project).get_experiment_by_name("h2h-crop").experiment_id])) == 1
