"""The whole sample pipeline under DVC on three short videos with a tiny network: 3D recovery,
NMFC and eye videos, conditioning, person-specific models of two variants from scratch and of one
from its pretraining on a corpus video, head / face / self reenactment videos labelled synthetic,
metrics, the report with what each variant changes, and caching per video."""

import json
import re

import mlflow
import mlflow.pytorch
import numpy as np
import pytest
import torch
import yaml

from h2h.core.digests import file_digest
from h2h.core.spool import failed, ingest
from h2h.face3d.face_model import FaceModel
from h2h.media.label import is_labelled_synthetic
from h2h.media.video import probe, read_video
from h2h.nn.generator_file import load_generator
from tests.support.project import SAMPLE, run, sample_project, set_params, stages_run
from tests.support.project import VIDEOS as SAMPLE_VIDEOS

pytestmark = pytest.mark.slow

PER_VIDEO = ("ingest", "crop", "landmarks", "fit", "identity", "nmfc", "eyes", "flow", "preview")
REENACTMENTS = {"obama_by_dpe_man_head": 24, "obama_by_dpe_man_face": 24, "obama_self": 8,
                "obama_self_no_eyes": 8}  # frames: the source's 24, or the 8 test frames
VARIANTS = ["full", "no_eyes", "pretrained"]  # the first two from scratch


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = sample_project(tmp_path_factory.mktemp("full"), variants=VARIANTS)
    ran = stages_run(run(["dvc", "repro"], project).stdout)
    assert ran == ({f"{stage}@{video}" for stage in PER_VIDEO for video in SAMPLE}
                   | {f"{stage}@{name}" for stage in ("conditioning", "reenact", "evaluate")
                      for name in REENACTMENTS}
                   | {f"pretrain@{variant}" for variant in VARIANTS}
                   | {f"finetune@obama-{variant}" for variant in VARIANTS}
                   | {"face_model", "corpus@dpe_man2", "reference@obama", "report"})
    return project


def test_nmfc_and_eye_videos(project):
    data = project / "data"
    model = FaceModel.load(data / "face_model/model.npz")
    table = {tuple(colour) for colour in model.triangle_colours} | {(0, 0, 0)}
    for video in SAMPLE:
        nmfc = read_video(data / "nmfc" / video / "nmfc.mkv")
        assert nmfc.shape == (24, 256, 256, 3)
        assert {tuple(c) for c in np.unique(nmfc.reshape(-1, 3), axis=0)} <= table
        assert 0.15 < nmfc.any(-1).mean() < 0.8  # the face covers a good part of the crop
        eyes = np.unique(read_video(data / "eyes" / video / "eyes.mkv").reshape(-1, 3), axis=0)
        assert {tuple(c) for c in eyes} == {(0, 0, 0), (255, 255, 255), (255, 0, 0)}
        assert probe(data / "preview" / video / "side_by_side.mp4").width == 4 * 256


def test_conditioning_follows_the_source(project):
    for name, frames in REENACTMENTS.items():
        folder = project / "data" / "conditioning" / name
        for video in ("nmfc.mkv", "eyes.mkv"):
            info = probe(folder / video)
            assert (info.frame_count, info.fps) == (frames, 25.0)
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["source_frames"] == ([16, 24] if "self" in name else [0, 24])


def test_reenactments_are_labelled_and_evaluated(project):
    data = project / "data"
    for name, frames in REENACTMENTS.items():
        video = data / "reenact" / name / "video.mp4"
        info = probe(video)
        assert (info.frame_count, info.fps, info.width) == (frames, 25.0, 64)
        assert is_labelled_synthetic(video)
        assert is_labelled_synthetic(data / "reenact" / name / "side_by_side.mp4")
        side = probe(data / "reenact" / name / "side_by_side.mp4")
        assert (side.width, side.height) == (4 * 256, 32 + 256)  # the 64 px result upscaled
        metrics = json.loads((data / "evaluate" / name / "metrics.json").read_text())
        assert {"aed", "ard_deg", "dai", "aeld_px", "fid_dlib", "mmd2_dlib"} <= set(metrics)
        # Every frame of the generated video counts in FID / MMD^2, against the real side's
        # 8 test frames (self) or 16 training frames.
        assert metrics["fid_dlib_frames"] == frames
        assert metrics["fid_dlib_real_frames"] == (8 if "self" in name else 16)
        if "self" in name:
            assert 0 < metrics["apd"] < 255 and 0 < metrics["mapd"] < 255
    shown = run(["dvc", "metrics", "show", "--json"], project).stdout
    assert "obama_self_no_eyes/metrics.json" in shown and '"apd"' in shown
    report = (data / "report" / "report.md").read_text()
    assert "| full" in report and "| no_eyes" in report and "head by dpe_man" in report
    assert "| no_eyes | model.ablation.no_eyes: False -> True | scratch |" in report
    assert report.count("Frames behind the numbers") == 2  # under each metrics table
    manifest = json.loads((data / "finetune/obama/no_eyes/manifest.json").read_text())
    assert manifest["init"] == "scratch" and manifest["step"] == 1 and manifest["completed"]
    evaluated = json.loads((data / "evaluate/obama_self_no_eyes/manifest.json").read_text())
    assert evaluated["training"] == json.loads(
        (data / "finetune/obama/no_eyes/training.json").read_text())


def test_only_a_variant_that_starts_from_pretraining_pretrains_and_from_its_own(project):
    data = project / "data"
    for variant in ("full", "no_eyes"):  # from scratch: a manifest and init.json, nothing else
        assert sorted(p.name for p in (data / "pretrain" / variant).iterdir()) == [
            "init.json", "manifest.json"]
    start = json.loads((data / "pretrain/pretrained/init.json").read_text())
    assert start["sha256"] == file_digest(data / "pretrain/pretrained/checkpoint.pt")
    assert start["configuration"]["model"]["ablation"]["no_eyes"] is False
    record = json.loads((data / "finetune/obama/pretrained/training.json").read_text())
    assert record["init"]["sha256"] == start["sha256"]
    assert record["init"]["mlflow_run_id"] == start["mlflow_run_id"]
    assert record["differs_from_full"] == ["init: 'scratch' -> 'pretrain'"]


def test_runs_are_comparable_in_mlflow(project):
    ingest(project)  # the stage runs reach MLflow from the spool, in the background
    assert failed(project) == []
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    client = mlflow.MlflowClient()

    def runs(stage, **filters):
        experiment = client.get_experiment_by_name(f"h2h-{stage}").experiment_id
        query = " and ".join(f"tags.{k} = '{v}'" for k, v in filters.items())
        return client.search_runs([experiment], filter_string=query)

    fits = runs("fit")
    assert {r.data.tags["video"] for r in fits} == set(SAMPLE)
    assert all(r.data.metrics["median_rmse_px"] < 2.0 for r in fits)
    assert runs("face_model")[0].data.metrics["correspondence_median_mm"] < 1.0
    evaluations = runs("evaluate", mode="self")
    assert {r.data.tags["variant"] for r in evaluations} == {"full", "no_eyes"}
    assert len({frozenset(r.data.metrics) for r in evaluations}) == 1  # same columns
    assert {r.data.params["training.differs_from_full"] for r in evaluations} == {
        "nothing", "model.ablation.no_eyes: False -> True"}
    for evaluation in evaluations:  # the frames behind each metric, as in metrics.json
        assert evaluation.data.params["counts.fid_dlib_real_frames"] == "8"
        assert {"counts.aed_frames", "counts.aed_failed", "counts.fid_dlib_failed"} <= set(
            evaluation.data.params)
        assert not any(key.endswith("_failed") for key in evaluation.data.metrics)
    [reference] = runs("reference", target="obama")
    assert {"test_fit_failed", "test_face_failed", "train_fit_failed",
            "test_bandwidth"} <= set(reference.data.metrics)
    trainings = runs("finetune")
    assert {r.data.tags["variant"] for r in trainings} == set(VARIANTS)
    assert all("g_total" in r.data.metrics for r in trainings)
    assert {r.data.tags["variant"]: r.data.tags["differs_from_full"] for r in trainings} == {
        "full": "nothing", "no_eyes": "model.ablation.no_eyes: False -> True",
        "pretrained": "init: 'scratch' -> 'pretrain'"}
    [pretraining] = runs("pretrain")
    [tuned] = [r for r in trainings if r.data.tags["variant"] == "pretrained"]
    assert tuned.data.params["init.mlflow_run_id"] == pretraining.info.run_id
    # The finetuned generator is an MLflow PyTorch model, the same network as generator.pt.
    [full] = [r for r in trainings if r.data.tags["variant"] == "full"]
    logged = mlflow.pytorch.load_model(f"runs:/{full.info.run_id}/generator")
    saved, _ = load_generator(project / "data/finetune/obama/full/generator.pt")
    assert all(torch.equal(a, b) for a, b in zip(logged.state_dict().values(),
                                                  saved.state_dict().values()))


def dvc_status(project) -> set[str]:
    """The stages ``dvc status`` lists as out of date."""
    return set(re.findall(r"^(\S+):$", run(["dvc", "status"], project).stdout, flags=re.M))


def ancestors(project, stage: str) -> set[str]:
    """The stages ``stage`` depends on, directly or not (``dvc dag``)."""
    dot = run(["dvc", "dag", "--dot", stage], project).stdout
    return set(re.findall(r'"([^"]+)"', dot)) - {stage}


def test_a_change_puts_out_of_date_exactly_what_reads_it(project):
    assert stages_run(run(["dvc", "repro"], project).stdout) == set()
    original = (project / "params.yaml").read_text()
    params = yaml.safe_load(original)

    def write(changed: dict) -> None:
        (project / "params.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))

    # A driving video: its own preprocessing, nothing trained.
    params["videos"]["lp_woman2"] = {"path": str(SAMPLE_VIDEOS / "lp_woman2.mp4")}
    write(params)
    new_video = {f"{stage}@lp_woman2" for stage in PER_VIDEO}
    assert dvc_status(project) == new_video
    # The same video in the corpus: its corpus clip and the pretraining too.
    params["corpus"].append("lp_woman2")
    write(params)
    assert dvc_status(project) == new_video | {"corpus@lp_woman2"} | {
        f"pretrain@{variant}" for variant in VARIANTS}
    (project / "params.yaml").write_text(original)
    assert dvc_status(project) == set()

    # A landmarks parameter: every video's landmarks; the pretraining reads landmarks only
    # through its corpus video's clip.
    set_params(project, "landmarks", max_gap=3)
    assert dvc_status(project) == {f"landmarks@{video}" for video in SAMPLE}
    assert {s for s in ancestors(project, "pretrain@full") if s.startswith("landmarks")} == {
        "landmarks@dpe_man2"}
    assert {s for s in ancestors(project, "finetune@obama-full")
            if s.startswith("landmarks")} == {"landmarks@obama", "landmarks@dpe_man2"}
    (project / "params.yaml").write_text(original)
