"""ICT-FaceKit's release files -> the face model file: exact on a few-vertex folder, and equal to
the shipped model on the real release files there are here."""

import json

import numpy as np
import pytest

from h2h.core.errors import H2HError
from h2h.face3d.face_model import load_ict
from h2h.face3d.ict_facekit import (
    KEYS,
    SOURCE,
    Layout,
    convert_facexmodel,
    facekit_arrays,
    read_vertex_indices,
    required_files,
)
from tests.support import facekit
from tests.support.project import ICT_NPZ, SHARED_DATA

SUBSET = SHARED_DATA / "face_model" / "ict_facekit_subset"


def test_the_real_release_files_give_the_shipped_model():
    """Two identities and two expressions of the real release: every array equals the shipped
    model's (bit for bit, dtypes and key order included) where both have it."""
    converted = facekit_arrays(SUBSET, Layout(identities=2), expressions=["eyeBlink_L", "jawOpen"])
    shipped = np.load(ICT_NPZ)
    assert list(converted) == list(KEYS) == shipped.files
    names = list(shipped["expression_names"])
    expected = {**{key: shipped[key] for key in KEYS},
                "identity_basis": shipped["identity_basis"][:2],
                "expression_basis": shipped["expression_basis"][[names.index("eyeBlink_L"),
                                                                names.index("jawOpen")]],
                "expression_names": np.array(["eyeBlink_L", "jawOpen"])}
    for key in KEYS:
        assert converted[key].dtype == expected[key].dtype, key  # names: <U of their length
        np.testing.assert_array_equal(converted[key], expected[key], err_msg=key)
    assert converted["mean"].shape == (11248, 3) and converted["triangles"].shape == (22288, 3)
    assert np.abs(converted["identity_basis"]).max() > 0.1  # real offsets, not zeros


def test_the_conversion_reads_the_whole_release():
    indices = read_vertex_indices(SUBSET)
    files = required_files(indices)
    assert len(files) == 155 and len(indices["expressions"]) == 53
    assert {"generic_neutral_mesh.obj", "vertex_indices.json", "identity099.obj",
            "jawOpen.obj", "noseSneer_R.obj"} <= set(files)


def test_a_facekit_folder_converts_exactly(tmp_path):
    folder = facekit.make_facekit(tmp_path / "FaceXModel")
    out = convert_facexmodel(folder, tmp_path / "model.npz", facekit.LAYOUT)
    data = np.load(out)
    assert data.files == list(KEYS)
    kept = facekit.LAYOUT.kept
    np.testing.assert_array_equal(data["mean"], facekit.NEUTRAL[:kept].astype(np.float32))
    np.testing.assert_array_equal(data["identity_basis"],
                                  np.stack(facekit.IDENTITIES)[:, :kept].astype(np.float32))
    np.testing.assert_array_equal(
        data["expression_basis"],
        np.stack([facekit.BLENDSHAPES[n] for n in facekit.EXPRESSIONS])[:, :kept])
    assert list(data["expression_names"]) == list(facekit.EXPRESSIONS)
    np.testing.assert_array_equal(data["triangles"], facekit.TRIANGLES)
    np.testing.assert_array_equal(data["landmarks_68"], facekit.LANDMARKS)
    assert data["region_face"].tolist() == [0, 1, 2, 3]
    assert data["region_narrow_face"].tolist() == [0, 1, 2]
    assert data["region_head_neck"].tolist() == [4, 5]
    assert data["fitting_vertices"].tolist() == [5, 1, 0]
    assert data["rigid_vertices"].tolist() == [2]
    assert str(data["source"]) == SOURCE
    # What the face_model stage reads of it.
    face = load_ict(out, "face")
    assert face.mean.shape == (4, 3) and face.triangles.tolist() == [[0, 1, 2], [0, 2, 3]]
    assert load_ict(out, "face_and_neck").triangles.shape == (4, 3)
    # The same folder gives the same bytes.
    again = convert_facexmodel(folder, tmp_path / "again.npz", facekit.LAYOUT)
    assert again.read_bytes() == out.read_bytes()


def test_a_shape_with_other_vertices_is_named(tmp_path):
    folder = facekit.make_facekit(tmp_path / "FaceXModel")
    facekit.write_obj(folder / "jawOpen.obj", facekit.NEUTRAL[:7])
    with pytest.raises(H2HError, match="7 vertices, the neutral mesh has 8") as error:
        convert_facexmodel(folder, tmp_path / "model.npz", facekit.LAYOUT)
    assert str(folder / "jawOpen.obj") in str(error.value)
    assert not (tmp_path / "model.npz").exists()


@pytest.mark.parametrize("broken,reason", [
    ("identity001.obj", "file not found"),
    ("vertex_indices.json", "file not found in the ICT-FaceKit folder"),
])
def test_a_missing_file_is_named(tmp_path, broken, reason):
    folder = facekit.make_facekit(tmp_path / "FaceXModel")
    (folder / broken).unlink()
    with pytest.raises(H2HError, match=reason) as error:
        convert_facexmodel(folder, tmp_path / "model.npz", facekit.LAYOUT)
    assert str(folder / broken) in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FaceXModel"]


def test_landmarks_outside_the_kept_vertices_are_refused(tmp_path):
    folder = facekit.make_facekit(tmp_path / "FaceXModel")
    indices = json.loads((folder / "vertex_indices.json").read_text())
    indices["idx_to_landmark_verts"][30] = 7
    (folder / "vertex_indices.json").write_text(json.dumps(indices))
    with pytest.raises(H2HError, match=r"a landmark vertex lies outside \[0, 6\)"):
        convert_facexmodel(folder, tmp_path / "model.npz", facekit.LAYOUT)
