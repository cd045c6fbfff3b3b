"""The whole pipeline so far under DVC on two short sample videos: 3D recovery, NMFC and eye
videos, reenactment conditioning, caching per video."""

import json

import mlflow
import numpy as np
import pytest
import yaml

from h2h.face_model import FaceModel
from h2h.video import probe, read_video
from tests.conftest import run
from tests.test_pipeline_dvc import SMALL, TWO_VIDEOS, stages_run

pytestmark = pytest.mark.slow

PER_VIDEO = ("ingest", "crop", "landmarks", "fit", "identity", "nmfc", "eyes", "flow", "preview")
REENACTMENTS = ("obama_by_dpe_man_head", "obama_by_dpe_man_face", "obama_self",
                "obama_self_no_eyes")
# Everything up to the generator's inputs (training is tested in test_pipeline_training.py).
RECOVERY = ["dvc", "repro", "conditioning", "preview", "flow"]


def test_dvc_repro_runs_the_3d_recovery_and_conditioning(make_project):
    project = make_project(TWO_VIDEOS, **SMALL)
    ran = stages_run(run(RECOVERY, project).stdout)
    assert ran == ({f"{stage}@{video}" for stage in PER_VIDEO for video in TWO_VIDEOS}
                   | {"face_model"} | {f"conditioning@{name}" for name in REENACTMENTS})
    data = project / "data"

    model = FaceModel.load(data / "face_model/model.npz")
    table = {tuple(colour) for colour in model.triangle_colours} | {(0, 0, 0)}
    for video in TWO_VIDEOS:
        nmfc = read_video(data / "nmfc" / video / "nmfc.mkv")
        assert nmfc.shape == (24, 256, 256, 3)
        assert {tuple(c) for c in np.unique(nmfc.reshape(-1, 3), axis=0)} <= table
        assert 0.15 < nmfc.any(-1).mean() < 0.8  # the face covers a good part of the crop
        eyes = np.unique(read_video(data / "eyes" / video / "eyes.mkv").reshape(-1, 3), axis=0)
        assert {tuple(c) for c in eyes} == {(0, 0, 0), (255, 255, 255), (255, 0, 0)}
        assert probe(data / "preview" / video / "side_by_side.mp4").width == 4 * 256

    for name, frames in zip(REENACTMENTS, (24, 24, 8, 8)):
        folder = data / "conditioning" / name
        for video in ("nmfc.mkv", "eyes.mkv"):
            info = probe(folder / video)
            assert (info.frame_count, info.fps) == (frames, 25.0)
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["source_frames"] == ([16, 24] if "self" in name else [0, 24])

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    fits = client.search_runs([client.get_experiment_by_name("h2h-fit").experiment_id])
    assert {r.data.tags["video"] for r in fits} == set(TWO_VIDEOS)
    assert all(r.data.metrics["median_rmse_px"] < 2.0 for r in fits)
    model_run = client.search_runs(
        [client.get_experiment_by_name("h2h-face_model").experiment_id])[0]
    assert model_run.data.metrics["correspondence_median_mm"] < 1.0

    assert stages_run(run(RECOVERY, project).stdout) == set()

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["videos"]["dpe_man2"] = {"path": params["videos"]["dpe_man"]["path"].replace(
        "dpe_man.mp4", "dpe_man2.mp4"), "role": "source"}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert stages_run(run(RECOVERY, project).stdout) == {
        f"{stage}@dpe_man2" for stage in PER_VIDEO}
