"""Stage output directories: written under a temporary name, renamed into place when complete,
and described by a small JSON manifest.

A crash (or a user error found half-way) therefore never leaves a directory that a later run, DVC
or Snakemake could mistake for a finished output.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from h2h.core.errors import H2HError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


@contextmanager
def atomic_directory(final: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory that replaces ``final`` only if the block succeeds.

    Partial directories left by killed runs of the same output (other process ids) are removed
    first: one output is made by one job at a time (DVC and Snakemake lock it).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = final.with_name(f".{final.name}.partial-{os.getpid()}")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    """Write JSON with sorted keys, so equal content gives byte-identical files."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_manifest(directory: str | Path, stage: str, unit: str, params: dict[str, Any],
                   **fields: Any) -> dict[str, Any]:
    """Write ``manifest.json``: schema version, stage, unit, producing parameters and ``fields``."""
    manifest = {"schema_version": SCHEMA_VERSION, "stage": stage, "unit": unit,
                "params": params, **fields}
    write_json(Path(directory) / MANIFEST, manifest)
    return manifest


def read_manifest(directory: str | Path, stage: str) -> dict[str, Any]:
    """Read the manifest of a finished ``stage`` output, checking that it is one."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise H2HError(f"no {stage} output here (missing {MANIFEST}): run the {stage} stage first",
                       directory)
    manifest = json.loads(path.read_text())
    if manifest.get("stage") != stage:
        raise H2HError(f"expected a {stage} output, found {manifest.get('stage')!r}", directory)
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise H2HError(f"output schema version {manifest.get('schema_version')} is not "
                       f"{SCHEMA_VERSION}: rerun the {stage} stage", directory)
    return manifest


def save_npz(path: str | Path, arrays: dict[str, Any], compress: bool = False) -> None:
    """Write arrays to an ``.npz`` that ``np.load`` reads, byte-identical for identical arrays.

    ``np.savez`` stamps each member with the current time, so two runs of a stage would give
    different files (and different DVC hashes); here every member carries a fixed date. Written
    to a temporary name and renamed, so a crash leaves no partial file.
    """
    import zipfile

    import numpy as np

    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    try:
        with zipfile.ZipFile(tmp, "w", compression=method, allowZip64=True) as archive:
            for name, value in arrays.items():
                member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                member.compress_type = method
                with archive.open(member, "w", force_zip64=True) as handle:
                    np.lib.format.write_array(handle, np.asanyarray(value), allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_npz(path: str | Path, missing: str = "file not found") -> dict[str, Any]:
    """All arrays of an ``.npz`` (no pickles); :class:`H2HError` with ``missing`` when absent,
    or naming the problem when unreadable."""
    import zipfile

    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise H2HError(missing, path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise H2HError(f"unreadable .npz file ({exc})", path) from exc
