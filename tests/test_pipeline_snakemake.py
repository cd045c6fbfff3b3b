"""Snakemake runs the same stages as DVC over the same files, with the same results."""

import hashlib
import json
import re

import pytest

from tests.conftest import run
from tests.test_pipeline_dvc import SMALL, TWO_VIDEOS

pytestmark = pytest.mark.slow


def snakemake_jobs(output: str) -> set[str]:
    """``rule:wildcard`` pairs of a dry run's job list."""
    jobs = set()
    for rule, wildcards in re.findall(r"^rule (\w+):\n(?:.*\n)*?\s+wildcards: \w+=(\S+)",
                                      output, flags=re.M):
        jobs.add(f"{rule}@{wildcards}")
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
    assert len(planned) == 6

    run(["dvc", "repro"], with_dvc)
    run(["snakemake", "--cores", "2"], with_snakemake)
    produced = digests(with_snakemake)
    assert {name for name in produced if name.endswith("manifest.json")} == {
        f"data/{stage}/{video}/manifest.json" for stage in ("ingest", "crop", "landmarks")
        for video in TWO_VIDEOS}
    assert produced == digests(with_dvc)

    # Outputs made by one tool are up to date for the other.
    assert "Nothing to be done" in run(["snakemake", "-n"], with_dvc).stdout
