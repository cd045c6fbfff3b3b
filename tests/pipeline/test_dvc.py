"""The preprocessing stages under DVC in a throw-away copy of the project: caching per video and
per parameter, MLflow records. (tests/pipeline/test_full.py runs the whole pipeline.)"""

import re

import mlflow
import pytest
import yaml

from h2h.core.spool import failed, ingest, pending
from tests.support.project import SMALL, TWO_VIDEOS, run, set_params, stages_run

pytestmark = pytest.mark.slow

PREPROCESSING = ["dvc", "repro", "landmarks"]  # ingest -> crop -> landmarks of every video




def test_dvc_repro_caches_per_video_and_per_parameter(make_project):
    project = make_project(TWO_VIDEOS, **SMALL)
    everything = {f"{stage}@{video}" for stage in ("ingest", "crop", "landmarks")
                  for video in TWO_VIDEOS}
    assert stages_run(run(PREPROCESSING, project).stdout) == everything
    assert stages_run(run(PREPROCESSING, project).stdout) == set()

    set_params(project, "landmarks", max_gap=3)
    assert stages_run(run(PREPROCESSING, project).stdout) == {"landmarks@obama",
                                                                 "landmarks@dpe_man"}

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["videos"]["dpe_man2"] = {"path": params["videos"]["dpe_man"]["path"].replace(
        "dpe_man.mp4", "dpe_man2.mp4")}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert stages_run(run(PREPROCESSING, project).stdout) == {
        "ingest@dpe_man2", "crop@dpe_man2", "landmarks@dpe_man2"}

    for video in ("obama", "dpe_man", "dpe_man2"):
        manifest = yaml.safe_load((project / "data/landmarks" / video / "manifest.json")
                                  .read_text())
        assert manifest["frames"] == 24 and manifest["params"]["landmarks"]["max_gap"] == 3
        assert manifest["split"] == {"train": [0, 16], "test": [16, 24]}


def test_every_stage_run_is_recorded_in_mlflow(make_project):
    project = make_project({"dpe_man": ("dpe_man.mp4", "source")}, **SMALL)
    run(PREPROCESSING, project)
    ingest(project)  # the runs reach MLflow from the spool, in the background
    assert failed(project) == [] and pending(project) == []
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    for stage, picture in (("ingest", None), ("crop", "preview.png"),
                           ("landmarks", "contact_sheet.png")):
        experiment = client.get_experiment_by_name(f"h2h-{stage}")
        [found] = client.search_runs([experiment.experiment_id])
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
        assert found.data.tags["stage"] == stage and found.data.tags["video"] == "dpe_man"
        assert found.info.status == "FINISHED"
        # The run is opened before the work and closed after it.
        duration = (found.info.end_time - found.info.start_time) / 1000
        assert duration >= found.data.metrics["wall_s"] > 0
        assert re.fullmatch(r"[0-9a-f]{40}", found.data.tags["git_commit"])
        assert found.data.tags["git_dirty"] == "false"
        assert found.data.metrics["frames"] == (334 if stage == "ingest" else 24)
        assert found.data.metrics["fps"] > 0 and found.data.metrics["wall_s"] > 0
        if picture:
            artifacts = [a.path for a in client.list_artifacts(found.info.run_id)]
            assert artifacts == [picture]
    runs = {stage: client.search_runs([client.get_experiment_by_name(f"h2h-{stage}")
                                       .experiment_id])[0] for stage in ("ingest", "crop")}
    assert runs["ingest"].data.params["ingest.max_frames"] == "24"
    crop_run = runs["crop"]
    assert crop_run.data.params["crop.size"] == "256"
    assert crop_run.data.metrics["missed_detections"] == 0
    assert crop_run.data.metrics["detection_rate"] == 1.0
