"""Snakemake runs the same stages as DVC over the same files, with the same results."""

import json

import pytest

from tests.support.project import (
    RECOVERY,
    SMALL,
    TWO_VIDEOS,
    digests,
    run,
    snakemake_jobs,
)

STAGES = RECOVERY[2:]

pytestmark = pytest.mark.slow



def dvc_pending(project) -> set[str]:
    """Stages ``dvc repro`` would run: those ``dvc status`` reports as changed."""
    return set(json.loads(run(["dvc", "status", "--json"], project).stdout))



def test_snakemake_plans_and_produces_what_dvc_does(make_project):
    with_dvc = make_project(TWO_VIDEOS, name="dvc", **SMALL)
    with_snakemake = make_project(TWO_VIDEOS, name="snakemake", **SMALL)

    planned = snakemake_jobs(run(["snakemake", "-n"], with_snakemake).stdout)
    assert planned == dvc_pending(with_dvc)
    assert {"face_model", "pretrain", "finetune@obama-full", "finetune@obama-no_eyes",
            "conditioning@obama_self_no_eyes", "fit@dpe_man"} <= planned

    # Run both up to the generator's inputs (training is compared in its own test).
    run(["dvc", "repro", *STAGES], with_dvc)
    run(["snakemake", "--cores", "2", "--until", *STAGES], with_snakemake)
    produced = digests(with_snakemake)
    assert {name for name in produced if name.endswith("manifest.json")} >= {
        f"data/{stage}/{video}/manifest.json" for stage in ("ingest", "nmfc", "preview")
        for video in TWO_VIDEOS} | {"data/conditioning/obama_self/manifest.json"}
    assert produced == digests(with_dvc)

    # Outputs made by one tool are up to date for the other.
    assert snakemake_jobs(run(["snakemake", "-n", "--until", *STAGES], with_dvc).stdout) == set()
