"""Fixtures shared by the tests: the sample data and throw-away copies of the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("H2H_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()
VIDEOS = SHARED_DATA / "videos"


@pytest.fixture(scope="session")
def sample_videos() -> Path:
    """The folder of real sample videos (read-only: tests copy what they modify)."""
    assert VIDEOS.is_dir(), f"sample videos not found at {VIDEOS} (set H2H_SHARED_DATA)"
    return VIDEOS


def project_files() -> list[str]:
    """Files of the project as git sees them (tracked plus new, not ignored)."""
    listing = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [name for name in listing.splitlines() if (ROOT / name).is_file()]


def tool_env() -> dict[str, str]:
    """Environment for running the project's commands: this Python's bin first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.pop("MLFLOW_TRACKING_URI", None)
    env["CI"] = "true"
    env.setdefault("PYOPENGL_PLATFORM", "egl")
    return env


def run(cmd: list[str] | str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command in a project copy, capturing its output; fail the test with it if asked."""
    result = subprocess.run(cmd, cwd=cwd, env=tool_env(), capture_output=True, text=True,
                            shell=isinstance(cmd, str))
    if check and result.returncode != 0:
        pytest.fail(f"{cmd} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


ProjectFactory = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Create a git + DVC copy of the project whose params.yaml has ``videos`` and overrides.

    ``videos`` maps id -> (file name in the sample folder or absolute path, role). Every copy is a
    fresh git repository, as a user's clone would be.
    """
    def factory(videos: dict[str, tuple[str, str]], name: str = "project",
                **overrides: dict[str, Any]) -> Path:
        project = tmp_path / name
        for relative in project_files():
            target = project / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, target)
        params = yaml.safe_load((project / "params.yaml").read_text())
        params["videos"] = {vid: {"path": str(VIDEOS / path), "role": role}
                            for vid, (path, role) in videos.items()}
        for section, values in overrides.items():
            params[section].update(values)
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        run(["git", "init", "-q"], project)
        run("git add -A && git -c user.name=t -c user.email=t@t commit -qm init", project)
        return project

    return factory
