"""``h2h assets``: put every file of the catalogue into the project's assets folder.

For each file, in this order of preference:

1. it is already there and verified (its checksum; the face model file: its keys and shapes);
2. the sample data folder (``$H2H_SHARED_DATA``, else ``../shared/data`` next to the project,
   where one exists) has it: the file is checked against its checksum and linked, never copied, so it is read in place;
3. it is downloaded from its pinned URL and verified (:mod:`h2h.core.download`); the face model
   is converted from ICT-FaceKit's downloaded release files (:mod:`h2h.face3d.ict_facekit`).

Each file appears under its final name only when complete, so an interrupted run leaves nothing
that a rerun or a stage could mistake for a finished file; a rerun fetches only what is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from h2h.assets.catalogue import CATALOGUE, Catalogue, FaceModelAsset, FileAsset
from h2h.core.download import download, is_verified, partial_name
from h2h.core.errors import H2HError
from h2h.core.progress import progress
from h2h.face3d.ict_facekit import check_face_model_file, convert_facexmodel

#: Where h2h assets puts the files, relative to the project root (git-ignored).
ASSETS_FOLDER = Path("assets")
#: The sample data folder used in place of downloads where it exists (the tests read the same).
SHARED_DATA = Path(os.environ.get("H2H_SHARED_DATA", "../shared/data"))


@dataclass(frozen=True)
class Fetched:
    """What happened to one file: ``present``, ``linked``, ``downloaded`` or ``converted``."""

    path: str
    how: str
    size: int


def fetch_assets(folder: str | Path = ASSETS_FOLDER, shared: str | Path | None = SHARED_DATA,
                 catalogue: Catalogue = CATALOGUE,
                 say: Callable[[str], None] = lambda line: None) -> list[Fetched]:
    """Make every file of ``catalogue`` present in ``folder``; ``shared`` is used where it is a
    directory. ``say`` gets one line per file. Raises :class:`H2HError` naming the file or URL
    and the reason when one cannot be had; files already made are kept."""
    folder = Path(folder)
    shared = Path(shared) if shared is not None and Path(shared).is_dir() else None
    done = []
    for asset in catalogue.files:
        done.append(_fetch_file(asset, folder, shared))
        say(_line(done[-1], folder))
    done.append(_fetch_face_model(catalogue.face_model, folder, shared))
    say(_line(done[-1], folder))
    return done


def _line(fetched: Fetched, folder: Path) -> str:
    where = folder / fetched.path
    target = f" -> {os.readlink(where)}" if where.is_symlink() else ""
    return f"{fetched.how:<11}{fetched.size / 1e6:>9.1f} MB  {where}{target}"


def _fetch_file(asset: FileAsset, folder: Path, shared: Path | None) -> Fetched:
    target = folder / asset.path
    if is_verified(target, asset.pinned):
        return Fetched(asset.path, "present", asset.pinned.size)
    if shared is not None and (shared / asset.path).is_file():
        source = shared / asset.path
        if not is_verified(source, asset.pinned):
            raise H2HError(f"differs from the published file (SHA-256 {asset.pinned.sha256}, "
                           f"{asset.pinned.size} bytes, {asset.origin})", source)
        link(target, source)
        return Fetched(asset.path, "linked", asset.pinned.size)
    download(asset.pinned, target)
    return Fetched(asset.path, "downloaded", asset.pinned.size)


def _fetch_face_model(asset: FaceModelAsset, folder: Path, shared: Path | None) -> Fetched:
    target = folder / asset.path
    if target.is_file():
        check_face_model_file(target)
        return Fetched(asset.path, "present", target.stat().st_size)
    if shared is not None and (shared / asset.path).is_file():
        check_face_model_file(shared / asset.path)
        link(target, shared / asset.path)
        return Fetched(asset.path, "linked", target.stat().st_size)
    sources = folder / asset.sources
    for name, pinned in progress(asset.files, "ICT-FaceKit", len(asset.files)):
        if not is_verified(sources / name, pinned):
            download(pinned, sources / name)
    convert_facexmodel(sources, target, asset.layout)
    return Fetched(asset.path, "converted", target.stat().st_size)


def link(target: Path, source: Path) -> None:
    """Make ``target`` a symbolic link to ``source`` (relative when ``source`` is), replacing
    whatever was there in one step."""
    target.parent.mkdir(parents=True, exist_ok=True)
    pointer = (source if source.is_absolute()
               else Path(os.path.relpath(source.absolute(), target.parent.absolute())))
    tmp = partial_name(target)
    tmp.unlink(missing_ok=True)
    os.symlink(pointer, tmp)
    os.replace(tmp, target)
