"""The whole sample pipeline under DVC, training included, on three short videos with a tiny
network: pretraining on a corpus video, person-specific models of two variants, head / face /
self reenactment videos labelled synthetic, metrics and the report."""

import json

import mlflow
import pytest
import yaml

from h2h.label import is_labelled_synthetic
from h2h.video import probe
from tests.conftest import run
from tests.test_pipeline_dvc import SMALL, stages_run

pytestmark = pytest.mark.slow

VIDEOS = {"obama": ("obama.mov", "target"), "dpe_man": ("dpe_man.mp4", "source"),
          "dpe_man2": ("dpe_man2.mp4", "corpus")}
QUICK = {"epochs": 1, "decay_epochs": 0, "steps_per_epoch": 2, "checkpoint_every": 1,
         "preview_frames": 4}


def test_dvc_repro_trains_reenacts_and_evaluates(make_project):
    project = make_project(VIDEOS, **SMALL)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"].update(profile="tiny", options=QUICK)
    params["pretrain"]["options"] = QUICK
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    ran = stages_run(run(["dvc", "repro"], project).stdout)
    assert {"pretrain", "finetune@obama-full", "finetune@obama-no_eyes", "report"} <= ran
    data = project / "data"
    for name, frames in (("obama_by_dpe_man_head", 24), ("obama_by_dpe_man_face", 24),
                         ("obama_self", 8), ("obama_self_no_eyes", 8)):
        video = data / "reenact" / name / "video.mp4"
        info = probe(video)
        assert (info.frame_count, info.fps, info.width) == (frames, 25.0, 64)
        assert is_labelled_synthetic(video)
        assert is_labelled_synthetic(data / "reenact" / name / "side_by_side.mp4")
        assert probe(data / "reenact" / name / "side_by_side.mp4").width == 4 * 64
        metrics = json.loads((data / "evaluate" / name / "metrics.json").read_text())
        assert {"aed", "ard_deg", "dai", "aeld_px", "fid_dlib", "mmd2_dlib"} <= set(metrics)
        if "self" in name:
            assert 0 < metrics["apd"] < 255 and 0 < metrics["mapd"] < 255

    shown = run(["dvc", "metrics", "show", "--json"], project).stdout
    assert "obama_self_no_eyes/metrics.json" in shown and '"apd"' in shown
    report = (data / "report" / "report.md").read_text()
    assert "| full |" in report and "| no_eyes |" in report and "head by dpe_man" in report
    manifest = json.loads((data / "finetune/obama/no_eyes/manifest.json").read_text())
    assert manifest["init"] == "pretrain" and manifest["step"] == 1 and manifest["completed"]

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    evaluations = client.search_runs(
        [client.get_experiment_by_name("h2h-evaluate").experiment_id],
        filter_string="tags.mode = 'self'")
    assert {r.data.tags["variant"] for r in evaluations} == {"full", "no_eyes"}
    assert len({frozenset(r.data.metrics) for r in evaluations}) == 1  # comparable columns
    trainings = client.search_runs([client.get_experiment_by_name("h2h-finetune").experiment_id])
    assert {r.data.tags["variant"] for r in trainings} == {"full", "no_eyes"}
    assert all("g_total" in r.data.metrics for r in trainings)

    assert stages_run(run(["dvc", "repro"], project).stdout) == set()
