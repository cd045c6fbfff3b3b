import numpy as np
import pytest
from scipy.ndimage import binary_fill_holes

from h2h.face3d.fit_table import cameras_of, expressions_of
from h2h.face3d.identity import average_identity
from h2h.face3d.nmfc import NMFCRenderer, face_mask
from h2h.geometry.camera import project
from tests.support.params import TRIM


@pytest.fixture(scope="module")
def obama_nmfc(face_model, clips):
    clip = clips["obama.mov"]
    identity = average_identity(clip.fit, TRIM)
    with NMFCRenderer(face_model, 256, 256) as renderer:
        images = np.stack(list(renderer.render_table(clip.fit, identity)))
    return clip, identity, images


def test_colours_are_exactly_table_values_on_black(face_model, obama_nmfc):
    _, _, images = obama_nmfc
    table = {tuple(c) for c in face_model.triangle_colours}
    for image in images[::10]:
        pixels = {tuple(c) for c in image.reshape(-1, 3)}
        assert pixels - table == {(0, 0, 0)}
        assert len(pixels) > 2000  # thousands of distinct triangles, not a few blended blobs
        mask = face_mask(image)
        assert not image[~mask].any()
        assert 0.15 < mask.mean() < 0.6
        for corner in (image[0, 0], image[0, -1], image[-1, 0], image[-1, -1]):
            assert not corner.any()


def test_face_mask_covers_the_face(obama_nmfc):
    clip, _, images = obama_nmfc
    for i in range(0, len(images), 10):
        mask = face_mask(images[i])
        u = np.rint(clip.points[i, :, 0]).astype(int)
        v = np.rint(256 - clip.points[i, :, 1]).astype(int)  # Face Mesh y-up -> image rows
        # The model has openings at the eyes and mouth, where Face Mesh's lid and inner lip
        # contours sit; with those holes closed the mask holds every Face Mesh point.
        assert binary_fill_holes(mask)[v, u].mean() > 0.99
        assert mask[v, u].mean() > 0.9


def _nose_tip_view(model, identity):
    """Camera that magnifies the nose tip (40 px per cm) in the image centre."""
    shape = model.shape(identity)
    tip = shape[model.landmarks_68[30]]
    cam = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 40.0])
    cam[3], cam[4] = 128 - 40 * tip[0], 128 + 40 * tip[1]
    return shape, cam


def test_nose_tip_has_the_same_colour_in_two_people(face_model):
    tip = face_model.landmarks_68[30]
    incident = np.flatnonzero((face_model.triangles == tip).any(1))
    # The incident triangle that looks largest from the front on the mean face.
    corners = face_model.mean[face_model.triangles[incident]][:, :, :2]
    area = np.abs(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]))
    tri = incident[area.argmax()]
    rng = np.random.default_rng(0)
    people = [rng.normal(size=100) * 1.5, rng.normal(size=100) * 1.5]
    images, colours = [], []
    with NMFCRenderer(face_model, 256, 256) as renderer:
        for identity in people:
            shape, cam = _nose_tip_view(face_model, identity)
            image = renderer.render(identity, np.zeros(53), cam)
            centre = np.rint(project(shape[face_model.triangles[tri]].mean(0, keepdims=True), cam)[0]).astype(int)
            colours.append(tuple(image[centre[1], centre[0]]))
            assert colours[-1] == tuple(face_model.triangle_colours[tri])
            images.append(image)
    assert colours[0] == colours[1]
    assert (images[0] != images[1]).any(-1).mean() > 0.05  # different people, different images


def test_reused_renderer_matches_a_fresh_one(face_model, clips):
    fit = clips["dpe_man.mp4"].fit
    with NMFCRenderer(face_model, 256, 256) as renderer:
        reused = list(renderer.render_table(fit.iloc[[0, 40, 79]]))
    with NMFCRenderer(face_model, 256, 256) as renderer:
        fresh = next(renderer.render_table(fit.iloc[[40]]))
    np.testing.assert_array_equal(reused[1], fresh)
    assert (reused[0] != reused[1]).any()


def test_invalid_rows_render_black_and_expressions_show(face_model, clips):
    fit = clips["obama.mov"].fit.iloc[:3].copy()
    fit.loc[1, "valid"] = False
    identity = average_identity(clips["obama.mov"].fit, TRIM)
    with NMFCRenderer(face_model, 256, 256) as renderer:
        images = list(renderer.render_table(fit, identity))
        assert not images[1].any() and images[0].any() and images[2].any()
        # Opening the jaw opens the mouth: the hole inside the face mask grows.
        exp = expressions_of(fit)[0].copy()
        cam = cameras_of(fit)[0]
        closed = face_mask(renderer.render(identity, exp, cam))
        exp[face_model.expression_index("jawOpen")] = 1.0
        opened = face_mask(renderer.render(identity, exp, cam))
    holes = lambda m: (binary_fill_holes(m) & ~m).sum()  # noqa: E731
    assert holes(opened) > holes(closed) + 100
