"""Snakemake runs the same stages as DVC over the same files, with the same results."""

import hashlib
import json
import re

import pytest

from tests.conftest import run
from tests.test_pipeline_dvc import SMALL, TWO_VIDEOS

pytestmark = pytest.mark.slow


def snakemake_jobs(output: str) -> set[str]:
    """A dry run's jobs named as DVC names stages: ``rule@wildcard`` (or ``rule`` alone)."""
    jobs = set()
    for block in re.split(r"\n(?=\S*rule \w+:)", output):
        rule = re.match(r"\S*rule (\w+):", block)
        if rule is None or rule.group(1) == "all":
            continue
        wildcards = re.search(r"^\s+wildcards: \w+=(\S+)$", block, flags=re.M)
        jobs.add(f"{rule.group(1)}@{wildcards.group(1)}" if wildcards else rule.group(1))
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
    assert len(planned) == 9 * 2 + 1 + 3  # per-video stages, face model, conditioning

    run(["dvc", "repro"], with_dvc)
    run(["snakemake", "--cores", "2"], with_snakemake)
    produced = digests(with_snakemake)
    assert {name for name in produced if name.endswith("manifest.json")} >= {
        f"data/{stage}/{video}/manifest.json" for stage in ("ingest", "nmfc", "preview")
        for video in TWO_VIDEOS} | {"data/conditioning/obama_self/manifest.json"}
    assert produced == digests(with_dvc)

    # Outputs made by one tool are up to date for the other.
    assert "Nothing to be done" in run(["snakemake", "-n"], with_dvc).stdout
