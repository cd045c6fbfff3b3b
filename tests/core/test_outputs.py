import json

import numpy as np
import pytest

from h2h.core.errors import H2HError
from h2h.core.outputs import atomic_directory, read_manifest, save_npz, write_manifest


def test_a_failed_block_leaves_the_previous_output(tmp_path):
    final = tmp_path / "out"
    with atomic_directory(final) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(RuntimeError):
        with atomic_directory(final) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError
    assert (final / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_partials_of_killed_runs_are_cleared(tmp_path):
    (tmp_path / ".out.partial-99999").mkdir()
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "x").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_manifest_round_trip_and_stage_check(tmp_path):
    write_manifest(tmp_path, "crop", "obama", {"crop": {"size": 256}}, frames=np.int64(3))
    manifest = read_manifest(tmp_path, "crop")
    assert manifest["frames"] == 3 and manifest["params"]["crop"]["size"] == 256
    with pytest.raises(H2HError, match="expected a fit output"):
        read_manifest(tmp_path, "fit")
    assert json.loads((tmp_path / "manifest.json").read_text())["schema_version"] == 1


def test_npz_bytes_depend_only_on_the_arrays(tmp_path):
    arrays = {"a": np.arange(5), "b": np.ones((2, 2), np.float16)}
    save_npz(tmp_path / "x.npz", arrays, compress=True)
    save_npz(tmp_path / "y.npz", arrays, compress=True)
    assert (tmp_path / "x.npz").read_bytes() == (tmp_path / "y.npz").read_bytes()
    with np.load(tmp_path / "x.npz") as loaded:
        assert np.array_equal(loaded["b"], arrays["b"])


def test_json_takes_numpy_scalars_and_arrays(tmp_path):
    from h2h.core.outputs import write_json

    write_json(tmp_path / "x.json", {"a": np.float32(1.5), "b": np.arange(3), "c": np.int64(2)})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1.5, "b": [0, 1, 2], "c": 2}
