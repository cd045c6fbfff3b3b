"""Snakemake runs the same stages as DVC over the same files, with the same results."""

import hashlib
import json
import re

import pytest

from tests.conftest import run
from tests.test_pipeline_dvc import SMALL, TWO_VIDEOS
from tests.test_pipeline_full import RECOVERY

STAGES = RECOVERY[2:]

pytestmark = pytest.mark.slow


def snakemake_jobs(output: str) -> set[str]:
    """A dry run's jobs named as DVC names stages: ``rule@wildcard`` (or ``rule`` alone)."""
    jobs = set()
    for block in re.split(r"\n(?=\S*rule \w+:)", output):
        rule = re.match(r"\S*rule (\w+):", block)
        if rule is None or rule.group(1) == "all":
            continue
        wildcards = re.search(r"^\s+wildcards: (.+)$", block, flags=re.M)
        values = re.findall(r"\w+=([^,\s]+)", wildcards.group(1)) if wildcards else []
        jobs.add(f"{rule.group(1)}@{'-'.join(values)}" if values else rule.group(1))
    return jobs


def dvc_pending(project) -> set[str]:
    """Stages ``dvc repro`` would run: those ``dvc status`` reports as changed."""
    return set(json.loads(run(["dvc", "status", "--json"], project).stdout))


def digests(project) -> dict[str, str]:
    return {str(path.relative_to(project)): hashlib.md5(path.read_bytes()).hexdigest()
            for path in sorted((project / "data").rglob("*")) if path.is_file()
            and path.name not in (".gitignore", ".snakemake_timestamp")}


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
