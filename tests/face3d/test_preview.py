import cv2
import numpy as np

from h2h.face3d.fit_table import cameras_of, expressions_of, identities_of
from h2h.face3d.identity import average_identity
from h2h.face3d.nmfc import NMFCRenderer
from h2h.face3d.preview import landmarks_68, mesh_overlay, side_by_side
from h2h.media.sheets import contact_sheet, save_png
from tests.support.params import TRIM


def test_overlay_sheet_and_side_by_side(face_model, clips, tmp_path):
    clip = clips["obama.mov"]
    fit = clip.fit
    identity = average_identity(fit, TRIM)
    cams, ids, exps = cameras_of(fit), identities_of(fit), expressions_of(fit)
    with NMFCRenderer(face_model, 256, 256) as renderer:
        nmfc = renderer.render(identity, exps[0], cams[0])
    points = landmarks_68(face_model, ids[0], exps[0], cams[0])
    assert points.shape == (68, 2)
    # The 68 projected vertices sit on the face: inside the central part of the crop.
    assert (points > 30).all() and (points < 226).all()
    overlay = mesh_overlay(clip.frames[0], nmfc, points)
    assert overlay.shape == clip.frames[0].shape and overlay.dtype == np.uint8
    assert not np.array_equal(overlay, clip.frames[0])
    nose = np.rint(points[30]).astype(int)
    assert overlay[nose[1], nose[0], 1] > 200  # green landmark drawn at the nose tip
    # Outside the face and the outlines the frame is untouched.
    assert np.array_equal(overlay[:5, :5], clip.frames[0][:5, :5])

    row = side_by_side([clip.frames[0], nmfc, np.zeros_like(nmfc), overlay])
    assert row.shape == (256, 1024, 3)
    sheet = contact_sheet([overlay] * 5, columns=3)
    assert sheet.shape == (512, 768, 3)
    assert not sheet[256:, 512:].any()  # the empty sixth cell stays black
    path = tmp_path / "sheet.png"
    save_png(path, sheet)
    np.testing.assert_array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), sheet)
