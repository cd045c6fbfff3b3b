"""Registering many videos at once in params.yaml (a pretraining corpus is a folder of hundreds).

params.yaml is edited in place with a round-trip YAML parser, so its comments and layout stay.
"""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

from h2h.core.config import load_params, resolve_path
from h2h.core.errors import H2HError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")


def video_id(path: Path) -> str:
    """A params.yaml id from a file name: letters, digits, '_', '.', '-' only."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("_.-") or "video"


def find_videos(folder: str | Path, pattern: str = "*") -> list[Path]:
    """Video files in ``folder`` (recursively) matching ``pattern``, in a stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise H2HError("not a folder", folder)
    return sorted(p for p in folder.rglob(pattern)
                  if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


#: Roles a registered video can take: where its id is listed besides ``videos`` (a source is
#: listed nowhere else: any video can drive a reenactment).
ROLE_LISTS = {"target": "targets", "corpus": "corpus", "source": None}


def register_videos(params_path: str | Path, folder: str | Path, role: str,
                    pattern: str = "*") -> list[str]:
    """Add every video of ``folder`` to ``videos`` in params.yaml, and its id to ``targets`` or
    ``corpus`` for those roles; returns the new ids. Videos already registered (the same file,
    whether by a relative or an absolute path) are skipped; clashing ids get a numeric suffix."""
    if role not in ROLE_LISTS:
        raise H2HError(f"unknown role {role!r}; choose one of {', '.join(ROLE_LISTS)}")
    params_path = Path(params_path)
    load_params(params_path)  # refuse to edit an invalid file
    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(params_path)
    videos = data["videos"]
    root = params_path.parent
    known = {resolve_path(spec["path"], root).resolve() for spec in videos.values()}
    added = []
    for path in find_videos(folder, pattern):
        if path.resolve() in known:
            continue
        base = name = video_id(path)
        number = 2
        while name in videos:
            name, number = f"{base}_{number}", number + 1
        videos[name] = {"path": str(path)}
        if ROLE_LISTS[role] is not None:
            data[ROLE_LISTS[role]].append(name)
        added.append(name)
    yaml.dump(data, params_path)
    load_params(params_path)
    return added
