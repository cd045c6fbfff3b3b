"""Sharing stage outputs through a DVC remote: a fresh clone pulls them instead of recomputing."""

import hashlib
import re

import pytest

from tests.conftest import run

pytestmark = pytest.mark.slow

ONE_VIDEO = {"dpe_man": ("dpe_man.mp4", "source")}
TINY = {"ingest": {"max_frames": 20}, "crop": {"detect_every": 4}}


def data_digests(project) -> dict[str, str]:
    """Digest of every stage output file (DVC's and git's bookkeeping files left out)."""
    return {str(path.relative_to(project)): hashlib.md5(path.read_bytes()).hexdigest()
            for path in sorted((project / "data").rglob("*"))
            if path.is_file() and path.name not in (".gitignore", "README.md")}


def test_pushed_outputs_are_pulled_by_a_clone_and_need_no_rerun(make_project, tmp_path):
    project = make_project(ONE_VIDEO, **TINY)
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "shared", str(remote)], project)
    run(["dvc", "repro"], project)
    pushed = run(["dvc", "push"], project).stdout
    assert re.search(r"\b\d+ files? pushed", pushed), pushed
    assert any(path.is_file() for path in remote.rglob("*"))
    run("git add -A && git -c user.name=t -c user.email=t@t commit -qm 'outputs'", project)
    produced = data_digests(project)
    assert {name for name in produced if name.endswith("manifest.json")} == {
        f"data/{stage}/dpe_man/manifest.json" for stage in ("ingest", "crop", "landmarks")}

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    assert data_digests(clone) == {}  # git carries dvc.lock and the remote's address, not data
    run(["dvc", "pull"], clone)
    assert data_digests(clone) == produced

    repro = run(["dvc", "repro"], clone).stdout
    assert "Running stage" not in repro, repro
    assert "up to date" in repro
    status = run(["dvc", "status", "--cloud"], clone).stdout
    assert "in sync" in status, status
