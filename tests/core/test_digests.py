"""Content digests: a file's matches sha256sum, an array's depends on its values, dtype and shape
(not on where it lives or on the chunks it is read in), plain data's not on key order."""

import subprocess

import numpy as np

from h2h.core import digests
from h2h.core.digests import array_digest, data_digest, file_digest


def test_file_digest_is_what_sha256sum_prints(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(np.arange(100_000, dtype=np.int64).tobytes())
    printed = subprocess.run(["sha256sum", path], capture_output=True, text=True, check=True)
    assert file_digest(path) == printed.stdout.split()[0]


def test_array_digest_follows_the_content(tmp_path, monkeypatch):
    array = np.random.default_rng(0).integers(0, 255, (7, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "a.npy", array)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    whole = array_digest(array)
    monkeypatch.setattr(digests, "_CHUNK", 1000)  # read in many chunks
    assert array_digest(mapped) == array_digest(array[:, ::1]) == whole
    changed = array.copy()
    changed[6, 15, 15, 2] ^= 1
    assert array_digest(changed) != whole
    assert array_digest(array.reshape(7, 16, 48)) != whole
    assert array_digest(array.astype(np.int16)) != whole
    assert array_digest(np.asfortranarray(array)) == whole  # values in C order


def test_data_digest_ignores_key_order():
    assert data_digest({"a": 1, "b": [1, 2]}) == data_digest({"b": [1, 2], "a": 1})
    assert data_digest({"a": 1}) != data_digest({"a": 1.5})
