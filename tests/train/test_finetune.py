"""Person-specific training on a real target's stage outputs: a checkpoint is resumed only for the
same inputs (its NMFC video, its starting weights), and each run records what it is."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from h2h.core.digests import file_digest
from h2h.media.video import read_video, write_video
from h2h.nn.config import Ablation
from h2h.train.config import differences
from h2h.train.data import save_clip
from h2h.train.finetune import TRAINING_FILE, FinetuneParams, finetune, finetune_plan
from h2h.train.job import CHECKPOINT_FILE
from h2h.train.loop import GENERATOR_FILE
from h2h.train.pretrain import INIT_FILE, PretrainParams, pretrain, pretrain_plan
from h2h.train.settings import Variant
from h2h.train.synthetic import synthetic_clip
from tests.support.training import QUICK, TINY, train_params

FULL, NO_EYES, PRETRAINED = Variant(), Variant(Ablation(no_eyes=True)), Variant(init="pretrain")


@pytest.fixture
def project(stage_outputs, tmp_path: Path, mlflow_store: str) -> Path:
    """A copy of the target's stage outputs (``data/``, which the tests change) in a project
    folder that is also the working directory."""
    shutil.copytree(stage_outputs[0].crop.parents[1], tmp_path / "data")
    return tmp_path


def _start(project: Path, variant_name: str, variant: Variant) -> Path:
    """The variant's pretrain stage output (corpus: the saved clips under project/corpus)."""
    out = project / "data/pretrain" / variant_name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    pretrain(variant.start("scratch"), sorted(project.glob("corpus/*/clip")),
             pretrain_plan(train_params(), PretrainParams(options=QUICK), variant), out,
             state=project / "checkpoints/pretrain")
    return out


def _finetune(project: Path, variant_name: str, variant: Variant, options=QUICK) -> dict:
    params = FinetuneParams(init="scratch", max_frames=0, options=options)
    out = project / "data/finetune/obama" / variant_name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    summary = finetune("obama", variant_name, finetune_plan(train_params(), params, variant),
                       finetune_plan(train_params(), params, FULL), project / "data",
                       project / "data/pretrain" / variant_name, out,
                       state=project / "checkpoints/finetune")
    return {**summary, "generator": (out / GENERATOR_FILE).read_bytes(),
            "record": json.loads((out / TRAINING_FILE).read_text())}


def test_a_changed_nmfc_video_trains_from_step_0_and_unchanged_inputs_resume(project, caplog):
    _start(project, "full", FULL)
    stopped = _finetune(project, "full", FULL, dataclasses.replace(QUICK, time_budget_s=1e-9))
    assert (stopped["step"], stopped["completed"]) == (1, False)  # as a killed run
    done = _finetune(project, "full", FULL)
    assert (done["resumed_from"], done["step"], done["completed"]) == (1, 6, True)

    # The NMFC stage wrote other videos (say, after a fit parameter changed): same names,
    # frame counts and configuration, other content.
    nmfc = project / "data/nmfc/obama/nmfc.mkv"
    write_video(nmfc, read_video(nmfc)[:, :, ::-1], 25.0)
    with caplog.at_level(logging.WARNING, logger="h2h.train"):
        again = _finetune(project, "full", FULL)
    assert (again["resumed_from"], again["step"], again["completed"]) == (0, 6, True)
    assert again["generator"] != done["generator"]
    [line] = [r.getMessage() for r in caplog.records if "not resumed" in r.getMessage()]
    assert "its training data changed (inputs.clips.obama.nmfc: differs)" in line
    assert (project / "checkpoints/finetune/obama/full/checkpoints.stale").is_dir()
    assert again["inputs_sha256"] != done["inputs_sha256"]


def test_new_pretrained_weights_train_from_step_0(project, caplog):
    corpus = project / "corpus/a/clip"
    save_clip(synthetic_clip(20, TINY.resolution, seed=1, name="a"), corpus)
    start = _start(project, "pretrained", PRETRAINED)
    first = _finetune(project, "pretrained", PRETRAINED)
    init = json.loads((start / INIT_FILE).read_text())
    assert first["resumed_from"] == 0
    assert first["record"]["init"]["sha256"] == init["sha256"] == file_digest(
        start / CHECKPOINT_FILE)
    assert first["record"]["init"]["file"] == str(start / CHECKPOINT_FILE)
    assert first["record"]["differs_from_full"] == ["init: 'scratch' -> 'pretrain'"]
    pretraining = MlflowClient().get_run(init["mlflow_run_id"])
    assert pretraining.data.tags["pretraining"] == init["pretraining"]

    # Another corpus clip: the pretraining starts again, and so does fine-tuning from it.
    save_clip(synthetic_clip(20, TINY.resolution, seed=2, name="a"), corpus)
    with caplog.at_level(logging.WARNING, logger="h2h.train"):
        _start(project, "pretrained", PRETRAINED)
        again = _finetune(project, "pretrained", PRETRAINED)
    assert json.loads((start / INIT_FILE).read_text())["sha256"] != init["sha256"]
    assert (again["resumed_from"], again["step"]) == (0, 6)
    assert again["generator"] != first["generator"]
    lines = [r.getMessage() for r in caplog.records if "not resumed" in r.getMessage()]
    assert len(lines) == 2 and "its training data changed (inputs.clips.a." in lines[0]
    assert "its starting weights changed (init.sha256: differs)" in lines[1]


def test_two_variants_record_configurations_that_differ_exactly_in_their_switch(project):
    one_step = dataclasses.replace(QUICK, epochs=1, decay_epochs=0, steps_per_epoch=1)
    records = {}
    for name, variant in (("full", FULL), ("no_eyes", NO_EYES)):
        _start(project, name, variant)
        result = _finetune(project, name, variant, one_step)
        records[name] = result["record"]
        generator = project / "data/finetune/obama" / name / GENERATOR_FILE
        assert result["record"]["generator"]["sha256"] == file_digest(generator)
        assert result["record"]["init"] == {"init": "scratch"}
    switch = ["model.ablation.no_eyes: False -> True"]
    assert differences(records["full"]["configuration"],
                       records["no_eyes"]["configuration"]) == switch
    assert records["no_eyes"]["differs_from_full"] == switch
    assert records["full"]["differs_from_full"] == []
    runs = {name: MlflowClient().get_run(record["generator"]["mlflow_run_id"])
            for name, record in records.items()}
    assert runs["no_eyes"].data.tags["differs_from_full"] == switch[0]
    assert runs["full"].data.tags["differs_from_full"] == "nothing"
    assert runs["no_eyes"].data.params["init"] == "scratch"
