"""Content digests (SHA-256, hex) of files, arrays and plain data.

A training run is identified by what it computes and by the content of what it reads, not by
file names: a checkpoint is resumed only when both are the same, and a starting point (pretrained
weights) is recorded by the digest of its file, which ``sha256sum`` confirms.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

_CHUNK = 1 << 24  # bytes hashed at a time: a memory-mapped array is never read whole


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (as ``sha256sum`` prints it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def array_digest(array: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and values (C order), read in chunks."""
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    contiguous = array if array.flags.c_contiguous else np.ascontiguousarray(array)
    flat = contiguous.reshape(-1)
    step = max(1, _CHUNK // max(1, array.itemsize))
    for start in range(0, flat.size, step):
        digest.update(np.ascontiguousarray(flat[start:start + step]).data)
    return digest.hexdigest()


def data_digest(data: Any) -> str:
    """SHA-256 of JSON-able data in canonical form (sorted keys), e.g. a configuration."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
