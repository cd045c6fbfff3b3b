import numpy as np
import pytest

from h2h.core.errors import H2HError
from h2h.face3d.face_model import FaceModel, load_ict, read_obj_vertices
from tests.support.params import FACE_MODEL
from tests.support.project import CANONICAL_OBJ, ICT_NPZ

# Face Mesh indices of the lower lip (outer and inner contour, corners excluded), the upper
# lip, and the upper / lower eyelids of the subject's right (33..133) and left (362..263) eyes.
LOWER_LIP = [14, 17, 84, 87, 91, 146, 178, 181, 314, 317, 321, 375, 402, 405]
UPPER_LIP = [0, 13, 37, 39, 40, 82, 81, 267, 269, 270, 312, 311]
UPPER_LID_R, LOWER_LID_R = [157, 158, 159, 160, 161], [144, 145, 153, 154, 163]
UPPER_LID_L, LOWER_LID_L = [384, 385, 386, 387, 388], [373, 374, 380, 381, 390]


@pytest.mark.parametrize(("region", "n_vertices"), [("face", 9409), ("narrow_face", 6706), ("face_and_neck", 11248)])
def test_regions_reindex_triangles_and_landmarks(region, n_vertices):
    full = np.load(ICT_NPZ)
    model = load_ict(ICT_NPZ, region)
    assert model.mean.shape == (n_vertices, 3)
    assert model.identity_basis.shape == (100, n_vertices, 3)
    assert model.expression_basis.shape == (53, n_vertices, 3)
    assert model.triangles.min() >= 0 and model.triangles.max() < n_vertices
    # Re-indexed triangles are the original triangles whose corners are all kept.
    original = model.vertex_ids[model.triangles]
    kept = set(map(tuple, full["triangles"]))
    assert all(tuple(t) in kept for t in original[:: max(1, len(original) // 500)])
    assert len(model.triangles) == int(np.isin(full["triangles"], model.vertex_ids).all(1).sum())
    np.testing.assert_array_equal(model.vertex_ids[model.landmarks_68], full["landmarks_68"])
    np.testing.assert_allclose(model.mean, full["mean"][model.vertex_ids])


def test_colours_are_the_mean_face_normalised_per_axis():
    model = load_ict(ICT_NPZ, FACE_MODEL.region)
    np.testing.assert_allclose(model.colours.min(0), 0.0, atol=1e-7)
    np.testing.assert_allclose(model.colours.max(0), 1.0, atol=1e-6)
    lo, hi = model.mean.min(0), model.mean.max(0)
    np.testing.assert_allclose(model.colours, (model.mean - lo) / (hi - lo), atol=1e-6)
    centroid = model.colours[model.triangles].mean(1)
    np.testing.assert_array_equal(model.triangle_colours, np.rint(centroid * 255).astype(np.uint8))
    # Black is the background: no triangle may have that colour.
    assert model.triangle_colours.any(1).all()


def test_correspondence_fits_the_surface(built_model):
    model, corr = built_model
    assert corr.triangle.shape == (468,) and corr.barycentric.shape == (468, 3)
    np.testing.assert_allclose(corr.barycentric.sum(1), 1.0, atol=1e-5)
    assert (corr.barycentric >= -1e-6).all()
    # Residual of the canonical face on the fitted ICT surface (FITTING_NOTES: 0.6 mm / ~3 mm).
    assert corr.median_mm < 0.8, corr.median_mm
    assert corr.max_mm < 3.5, corr.max_mm
    # Only face-proper triangles carry Face Mesh points.
    assert (model.vertex_ids[model.triangles[corr.triangle]] < 6706).all()


def test_correspondence_is_anatomical(face_model):
    mean, _, exp = face_model.mediapipe_bases
    # The subject's right eye is at -x in ICT, as is Face Mesh's point 33.
    assert mean[33, 0] < 0 < mean[263, 0]
    jaw = exp[face_model.expression_index("jawOpen")][:, 1]  # y displacement, cm
    assert (jaw[LOWER_LIP] < -1.5).all(), jaw[LOWER_LIP]
    assert (np.abs(jaw[UPPER_LIP]) < 1.0).all(), jaw[UPPER_LIP]
    blink_r = exp[face_model.expression_index("eyeBlink_R")][:, 1]
    blink_l = exp[face_model.expression_index("eyeBlink_L")][:, 1]
    assert (blink_r[UPPER_LID_R] < -0.3).all() and (np.abs(blink_r[UPPER_LID_L]) < 0.05).all()
    assert (blink_l[UPPER_LID_L] < -0.3).all() and (np.abs(blink_l[UPPER_LID_R]) < 0.05).all()
    # The lower lids barely move in a blink: the lid points are not swapped.
    assert (np.abs(blink_r[LOWER_LID_R]) < 0.1).all() and (np.abs(blink_l[LOWER_LID_L]) < 0.1).all()


def test_save_load_round_trip(face_model, tmp_path):
    path = tmp_path / "model.npz"
    face_model.save(path)
    loaded = FaceModel.load(path)
    assert loaded.region == face_model.region
    assert loaded.expression_names == face_model.expression_names
    for field in ("mean", "identity_basis", "expression_basis", "triangles", "colours",
                  "triangle_colours", "landmarks_68", "vertex_ids", "mp_triangle", "mp_barycentric"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(face_model, field))
    assert loaded.has_correspondence


def test_user_errors_name_the_file(tmp_path):
    with pytest.raises(H2HError, match="file not found"):
        load_ict(tmp_path / "missing.npz", "face")
    with pytest.raises(H2HError, match="unknown face model region"):
        load_ict(ICT_NPZ, "ears")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(H2HError, match="bad.npz"):
        load_ict(bad, "face")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(H2HError, match="missing"):
        load_ict(tmp_path / "other.npz", "face")
    with pytest.raises(H2HError, match="schema"):
        FaceModel.load(tmp_path / "other.npz")
    assert read_obj_vertices(CANONICAL_OBJ).shape == (468, 3)
