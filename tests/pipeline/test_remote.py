"""Sharing stage outputs through a DVC remote: a fresh clone pulls them instead of recomputing."""

import hashlib
import re

import pytest

from tests.support.project import run

pytestmark = pytest.mark.slow

ONE_VIDEO = {"dpe_man": ("dpe_man.mp4", "source")}
TINY = {"ingest": {"max_frames": 20}, "crop": {"detect_every": 4}}
# ingest -> crop -> landmarks: three stages in seconds. Every command names this target, as
# a user sharing part of the pipeline would; without one, DVC acts on every stage in dvc.lock.
TARGET = ["--with-deps", "landmarks"]


def data_digests(project) -> dict[str, str]:
    """Digest of every stage output file that DVC stores: files git tracks (bookkeeping, and
    the metrics and plots DVC leaves to git, `cache: false`) are left out."""
    tracked = set(run(["git", "ls-files", "data"], project).stdout.splitlines())
    return {str(path.relative_to(project)): hashlib.md5(path.read_bytes()).hexdigest()
            for path in sorted((project / "data").rglob("*"))
            if path.is_file() and str(path.relative_to(project)) not in tracked}


def test_pushed_outputs_are_pulled_by_a_clone_and_need_no_rerun(make_project, tmp_path):
    project = make_project(ONE_VIDEO, **TINY)
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "shared", str(remote)], project)
    run(["dvc", "repro", "landmarks"], project)
    pushed = run(["dvc", "push", *TARGET], project).stdout
    assert re.search(r"\b\d+ files? pushed", pushed), pushed
    run("git add -A && git -c user.name=t -c user.email=t@t commit -qm 'outputs'", project)
    produced = data_digests(project)
    assert {name for name in produced if name.endswith("manifest.json")} == {
        f"data/{stage}/dpe_man/manifest.json" for stage in ("ingest", "crop", "landmarks")}

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    assert data_digests(clone) == {}  # git carries dvc.lock and the remote's address, not data
    run(["dvc", "pull", *TARGET], clone)
    assert data_digests(clone) == produced

    repro = run(["dvc", "repro", "landmarks"], clone).stdout
    assert "Running stage" not in repro, repro
    assert "up to date" in repro
    status = run(["dvc", "status", "--cloud", *TARGET], clone).stdout
    assert "in sync" in status, status
