"""``h2h bench``: the 3D recovery and training tables, and the person-specific training benchmark
on a real clip (a few training steps: the figures are checked for what they measure, not for
their values)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from h2h.bench.apd import bench_apd
from h2h.bench.suite import training_config
from h2h.cli import main
from h2h.core.errors import H2HError
from h2h.evaluation.metrics.pixels import apd, mapd
from h2h.evaluation.metrics.temporal import relative_warping_error, warping_error
from h2h.media.video import read_video
from h2h.train.data import ClipPaths, load_clip
from tests.support.evaluation import lay_out, obama
from tests.support.project import CANONICAL_OBJ, ICT_NPZ, ROOT, VIDEOS

pytestmark = pytest.mark.usefixtures("one_thread")


#: A 32 px profile with two temporal scales (5-frame windows): seconds per training step.
TEST_PROFILE = {"resolution": 32, "ngf": 8, "n_blocks": 1, "ndf": 8, "num_d": 1,
                "n_layers_d": 2, "temporal_scales": 2, "lambda_l1": 100.0, "lr_scale": 5.0}


def project_params(**train: object) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["videos"] = {"obama": {"path": str(VIDEOS / "obama.mov")}}
    params["targets"], params["corpus"] = ["obama"], []
    params["reenactments"] = {}
    params["face_model"].update(ict=str(ICT_NPZ), canonical=str(CANONICAL_OBJ))
    params["train"]["profiles"]["test"] = TEST_PROFILE
    params["train"].update(train)
    return params


def numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d+", line)]


def test_bench_recovery_prints_the_speed_of_each_step(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(project_params()))
    assert main(["--params", str(params), "bench", "recovery", "--frames", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "first 20 frames" in lines[0]
    assert lines[1].split()[:4] == ["video", "crop", "frames", "Face"]
    [row] = [line for line in lines if line.startswith("obama")]
    assert row.split()[1:3] == ["256x256", "20"]
    *rates, identity_pass = numbers(row)
    assert len(rates) == 5 and all(rate > 0 for rate in rates)
    assert identity_pass >= 0 and row.endswith(" s")


def test_bench_training_prints_speed_and_memory_of_a_profile(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(project_params()))
    assert main(["--params", str(params), "bench", "training", "--preset", "tiny",
                 "--steps", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "1 steps" in lines[0] and "without the VGG loss" in lines[0]
    assert lines[1].split()[:4] == ["profile", "device", "px", "batch"]
    assert lines[2].split()[:4] == ["tiny", "cpu", "64", "1"]
    it_per_s, train_fps, g_fps = numbers(lines[2])
    window = int(lines[2].split()[4])  # printed to 0.01 it/s and 0.1 frames/s
    assert it_per_s > 0 and train_fps == pytest.approx(it_per_s * window,
                                                       abs=0.05 + 0.005 * window)
    assert g_fps > 0 and lines[2].endswith(" MB")


def test_the_training_benchmark_builds_vgg_only_for_an_objective_with_it():
    # The paper profile without VGG weights computes the "w/o VGG" objective; the cpu profile
    # keeps its L1 term, which "w/o VGG" would drop.
    assert training_config(project_params(), "paper").ablation.no_vgg
    assert not training_config(project_params(), "cpu").ablation.no_vgg
    with_vgg = project_params(loss={"lambda_feat": 10.0, "lambda_vgg": 10.0})
    config = training_config(with_vgg, "paper")
    assert not config.ablation.no_vgg and (config.resolution, config.ngf) == (256, 64)
    with pytest.raises(H2HError, match="unknown training profile"):
        training_config(project_params(), "huge")


@pytest.fixture(scope="module")
def apd_project(stage_outputs) -> Path:
    """The stage outputs of 48 obama frames with a params.yaml training one short epoch."""
    paths = stage_outputs[0]
    project = paths.crop.parents[2]
    params = project_params()
    params["finetune"]["options"].update(epochs=1, decay_epochs=0, preview_frames=0)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    return project


def test_bench_apd_trains_renders_the_test_split_and_scores_the_baselines(apd_project,
                                                                           tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["bench", "apd", "--project", str(apd_project), "--preset", "test",
                 "--frames", "30", "--minutes", "5", "--work", str(work)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # 30 frames split as the crop stage splits: 20 train, 10 test (the project has 48).
    assert "obama, frames 0-19 train, 20-29 test; test profile (32 px)" in lines[0]
    # 20 frames hold 3 chunks of 5 at any offset: 3 steps.
    assert "3 of 3 steps" in lines[1] and "all epochs done" in lines[1]
    result = json.loads((work / "results.json").read_text())
    scores = result["scores"]
    assert (scores["train"], scores["test"], result["steps"]) == ([0, 20], [20, 30], 3)
    assert result["iterations_per_s"] > 0 and result["training_s"] > 0
    assert lines[3].split() == ["APD", "MAPD", "warp"]
    for key, line in zip(("model", "nearest", "mean"), lines[4:7]):
        assert numbers(line) == [round(scores[m][key], 2) for m in ("apd", "mapd", "warp_error")]
    nearest = np.array(scores["nearest_frames"])
    assert len(nearest) == 10 and nearest.max() < 20  # only training frames are candidates

    # The baselines' figures, recomputed from the project's frames at 32 px.
    paths = ClipPaths.under(apd_project / "data", "obama")
    clip = load_clip(paths, 32, "train", max_frames=30, strides=(1,))
    train, test = clip.real[:20], clip.real[20:]
    mean = np.repeat(np.round(train.mean(0)).astype(np.uint8)[None], 10, 0)
    face = clip.nmfc[20:].any(-1)
    flows = clip.flows[1][20:29]
    real_error = warping_error(test, flows).mean
    for name, video in (("mean", mean), ("nearest", train[nearest])):
        assert scores["apd"][name] == pytest.approx(apd(test, video).mean)
        assert scores["mapd"][name] == pytest.approx(mapd(test, video, face).mean)
        assert scores["warp_error"][name] == pytest.approx(
            relative_warping_error(video, flows, real_error)[0])
    assert scores["mapd"]["mean"] > scores["apd"]["mean"]  # the face moves, the background not
    assert np.isfinite(scores["apd"]["model"]) and scores["apd"]["model"] > 0

    # 4 test frames x (condition, generated, real, nearest, mean) at 32 px; the whole test split.
    assert cv2.imread(str(work / "comparison.png")).shape == (4 * 32, 5 * 32, 3)
    assert len(read_video(work / "test.mp4")) == 10
    assert not (apd_project / "bench").exists()  # everything went to the work directory


def test_bench_apd_needs_the_frames_it_is_asked_for(apd_project, tmp_path):
    with pytest.raises(H2HError, match="48 preprocessed frames.*ingest.max_frames"):
        bench_apd(apd_project, "obama", minutes=1, profile="test", frames=600,
                  work=tmp_path / "work")
    with pytest.raises(H2HError, match="no crop output"):
        bench_apd(apd_project, "nobody", minutes=1, profile="test", frames=30,
                  work=tmp_path / "work")


def test_bench_evaluate_times_the_reference_and_each_evaluation(tmp_path, capsys, face_model):
    project = tmp_path / "project"
    params = project_params(profile="tiny")
    params["reenactments"] = {"obama_self": {"target": "obama", "source": "obama",
                                             "mode": "self", "variant": "full"}}
    project.mkdir()
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert main(["bench", "evaluate", "--project", str(project), "--repeats", "1"]) == 1
    assert "no generated videos to evaluate" in capsys.readouterr().err
    frames = obama(0, 12)
    lay_out(project / "data", face_model, frames, {"train": [0, 4], "test": [4, 12]},
            fake=frames[4:] // 2)
    assert main(["bench", "evaluate", "--project", str(project), "--repeats", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "median of 2 runs" in lines[0]
    [reference] = [line for line in lines if line.startswith("reference obama")]
    [evaluation] = [line for line in lines if line.startswith("evaluate obama_self")]
    assert reference.split()[2] == "12" and evaluation.split()[2] == "8"
    seconds, fps = numbers(evaluation)[:2]
    assert fps == pytest.approx(8 / seconds, rel=0.01, abs=0.06)  # printed to 0.1
    assert len(numbers(evaluation)) == 4  # median, frames/s and the two runs
    assert not (project / "data" / "reference").exists()  # the project's data is only read
