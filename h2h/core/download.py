"""Fetching a file from a pinned URL, kept only when its size and SHA-256 are the pinned ones.

Third-party files (the face model's sources, the canonical face, the sample clips) come from
public URLs at fixed commits; a checksum pins their exact bytes, so a moved tag, a proxy's error
page or a cut connection can never pass for the file. ``h2h assets`` is the one caller: nothing
downloads while the pipeline runs.

The bytes stream into a hidden file beside the destination while they are hashed, and the file is
renamed into place only once verified. Any failure (unreachable URL, short read, wrong checksum,
Ctrl-C) removes the partial file; one left by a killed process is removed by the next download of
the same file. ``file://`` URLs go through the same code (local mirrors, tests).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from h2h.core.digests import file_digest
from h2h.core.errors import H2HError

CHUNK = 1 << 20  # bytes read and hashed at a time
TIMEOUT_S = 60.0  # per blocking network operation, not per file


@dataclass(frozen=True)
class Pinned:
    """A file at a public URL, with the size and SHA-256 (hex) of its exact bytes."""

    url: str
    sha256: str
    size: int


def is_verified(path: str | Path, pinned: Pinned) -> bool:
    """True when ``path`` is a file with the pinned size and SHA-256 (size first: it is free)."""
    path = Path(path)
    return (path.is_file() and path.stat().st_size == pinned.size
            and file_digest(path) == pinned.sha256)


def partial_name(dest: Path) -> Path:
    """Where this process streams ``dest`` before it is verified."""
    return dest.with_name(f".{dest.name}.partial-{os.getpid()}")


def download(pinned: Pinned, dest: str | Path) -> Path:
    """Fetch ``pinned.url`` into ``dest`` and return ``dest``.

    Raises :class:`H2HError` naming ``dest``, the reason (unreachable, short, wrong checksum) and
    the URL; ``dest`` then does not exist (or keeps what it held before) and no partial file is
    left.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{dest.name}.partial-*"):
        stale.unlink(missing_ok=True)
    tmp = partial_name(dest)
    try:
        size, digest = _stream(pinned.url, tmp, dest, pinned.size)
        if size > pinned.size:
            raise H2HError(f"download too large: more than the {pinned.size} bytes expected "
                           f"(from {pinned.url})", dest)
        if size != pinned.size:
            raise H2HError(f"download incomplete or wrong: {size} bytes, expected {pinned.size} "
                           f"(from {pinned.url})", dest)
        if digest != pinned.sha256:
            raise H2HError(f"checksum mismatch: SHA-256 {digest}, expected {pinned.sha256} "
                           f"(from {pinned.url})", dest)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _stream(url: str, tmp: Path, dest: Path, limit: int) -> tuple[int, str]:
    """Copy ``url`` to ``tmp``, stopping once more than ``limit`` bytes arrived (a wrong file
    does not fill the disk); return the byte count and SHA-256 of what arrived."""
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(tmp, "wb") as out:
            while size <= limit and (block := response.read1(CHUNK)):
                digest.update(block)
                out.write(block)
                size += len(block)
    except urllib.error.HTTPError as error:
        raise H2HError(f"download failed: HTTP {error.code} {error.reason} (from {url})",
                       dest) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise H2HError(f"download failed: {reason} (from {url})", dest) from None
    return size, digest.hexdigest()
