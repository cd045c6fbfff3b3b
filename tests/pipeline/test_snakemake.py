"""Snakemake runs the same stages as DVC over the same files, with the same results, training
included (CPU training repeats bit for bit)."""

import json

import pytest

from tests.support.project import (
    SMALL,
    TWO_VIDEOS,
    digests,
    run,
    snakemake_jobs,
)

#: Up to the trained generators: the conditioning, the previews and training, whose inputs
#: include the flows (Snakemake's --until stalls when one named rule feeds another).
STAGES = ["conditioning", "preview", "finetune"]
#: A training step or two: the outputs are compared, not trained for quality.
ONE_STEP = {"finetune": {"options": {"epochs": 1, "decay_epochs": 0, "steps_per_epoch": 2,
                                     "preview_frames": 2}}}
#: What differs between two runs of the same training: the MLflow run and the speed.
VOLATILE = {"mlflow_run_id", "iterations_per_s"}

pytestmark = pytest.mark.slow


def dvc_pending(project) -> set[str]:
    """Stages ``dvc repro`` would run: those ``dvc status`` reports as changed."""
    return set(json.loads(run(["dvc", "status", "--json"], project).stdout))


def _steady(value):
    """A JSON value without the fields that differ between two runs of the same training."""
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items() if k not in VOLATILE}
    return value


def training_records(project) -> dict[str, dict]:
    """The finetune stages' manifests and training records, volatile fields removed."""
    return {str(path.relative_to(project)): _steady(json.loads(path.read_text()))
            for name in ("manifest.json", "training.json")
            for path in (project / "data/finetune").rglob(name)}


def test_snakemake_plans_and_produces_what_dvc_does(make_project):
    with_dvc = make_project(TWO_VIDEOS, name="dvc", **SMALL, **ONE_STEP)
    with_snakemake = make_project(TWO_VIDEOS, name="snakemake", **SMALL, **ONE_STEP)

    planned = snakemake_jobs(run(["snakemake", "-n"], with_snakemake).stdout)
    assert planned == dvc_pending(with_dvc)
    assert {"face_model", "pretrain@full", "finetune@obama-full", "finetune@obama-no_eyes",
            "conditioning@obama_self_no_eyes", "fit@dpe_man"} <= planned

    # Both up to the trained generators (the sample's variants start from scratch: no corpus),
    # training on one thread: on several, CPU kernels now and then round differently.
    run(f"OMP_NUM_THREADS=1 dvc repro {' '.join(STAGES)}", with_dvc)
    run(["snakemake", "--cores", "2", "--set-threads", "finetune=1", "--until", *STAGES],
        with_snakemake)
    produced = digests(with_snakemake)
    assert set(produced) >= {
        f"data/{stage}/{video}/manifest.json" for stage in ("ingest", "nmfc", "preview")
        for video in TWO_VIDEOS} | {"data/conditioning/obama_self/manifest.json",
                                    "data/pretrain/no_eyes/init.json",
                                    "data/finetune/obama/no_eyes/generator.pt",
                                    "data/finetune/obama/full/losses.csv"}
    records = training_records(with_snakemake)
    assert records == training_records(with_dvc) and len(records) == 4
    assert {k: v for k, v in produced.items() if k not in records} == {
        k: v for k, v in digests(with_dvc).items() if k not in records}

    # Outputs made by one tool are up to date for the other.
    assert snakemake_jobs(run(["snakemake", "-n", "--until", *STAGES], with_dvc).stdout) == set()
