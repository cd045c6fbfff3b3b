"""The project as tests see it: paths of the sample data, throw-away git + DVC copies of the
project, and running the project's commands in them."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("H2H_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()
VIDEOS = SHARED_DATA / "videos"
ICT_NPZ = SHARED_DATA / "face_model" / "ict_facekit_light.npz"
CANONICAL_OBJ = SHARED_DATA / "face_model" / "mediapipe_canonical_face_model.obj"


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


def create_project(folder: Path, videos: dict[str, tuple[str, str]], name: str = "project",
                   **overrides: dict[str, Any]) -> Path:
    """A git + DVC copy of the project in ``folder/name`` whose params.yaml has ``videos`` and
    ``overrides`` (section -> values merged into it, nested mappings key by key).

    ``videos`` maps id -> (file name in the sample folder or absolute path, role): ``target``
    and ``corpus`` videos make the ``targets`` and ``corpus`` lists; reenactments of videos not
    in the copy are dropped. Every copy is a fresh git repository, as a user's clone would be.
    """
    project = folder / name
    for relative in project_files():
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["videos"] = {vid: {"path": str(VIDEOS / path)} for vid, (path, _) in videos.items()}
    params["face_model"].update(ict=str(ICT_NPZ), canonical=str(CANONICAL_OBJ))
    params["targets"] = [vid for vid, (_, role) in videos.items() if role == "target"]
    params["corpus"] = [vid for vid, (_, role) in videos.items() if role == "corpus"]
    params["reenactments"] = {name: spec for name, spec in params["reenactments"].items()
                              if {spec["target"], spec["source"]} <= set(videos)}
    merge(params, overrides)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q"], project)
    run("git add -A && git -c user.name=t -c user.email=t@t commit -qm init", project)
    return project


#: Stage options that keep the pipeline tests short: 24 frames, detection on every 4th.
SMALL = {"ingest": {"max_frames": 24}, "crop": {"detect_every": 4}}
#: The sample's people: a target, a driving source and a pretraining corpus video.
SAMPLE = {"obama": ("obama.mov", "target"), "dpe_man": ("dpe_man.mp4", "source"),
          "dpe_man2": ("dpe_man2.mp4", "corpus")}
#: Training of a couple of steps per network: the whole pipeline in minutes on a CPU.
QUICK_TRAINING = {"epochs": 1, "decay_epochs": 0, "steps_per_epoch": 2, "checkpoint_every": 1,
                  "preview_frames": 4}


def sample_project(folder: Path, **overrides: Any) -> Path:
    """The sample (:data:`SAMPLE`, its reenactments and variants) as a project copy that runs
    end to end quickly: :data:`SMALL` clips, the tiny profile, :data:`QUICK_TRAINING`;
    ``overrides`` as :func:`create_project`'s."""
    return create_project(folder, SAMPLE, **SMALL, train={"profile": "tiny"},
                          finetune={"options": QUICK_TRAINING},
                          pretrain={"options": QUICK_TRAINING}, **overrides)

TWO_VIDEOS = {"obama": ("obama.mov", "target"), "dpe_man": ("dpe_man.mp4", "source")}


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def merge(params: dict[str, Any], changes: dict[str, Any]) -> None:
    """Update ``params`` in place with ``changes``, nested mappings key by key."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            merge(params[key], value)
        else:
            params[key] = value


def set_params(project: Path, section: str, **values: Any) -> None:
    """Change keys of one section of a project copy's params.yaml."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    merge(params, {section: values})
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


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


def digests(project) -> dict[str, str]:
    return {str(path.relative_to(project)): hashlib.md5(path.read_bytes()).hexdigest()
            for path in sorted((project / "data").rglob("*")) if path.is_file()
            and path.name not in (".gitignore", ".snakemake_timestamp")}


