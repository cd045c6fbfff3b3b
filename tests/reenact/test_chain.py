"""The per-frame 3D recovery chain: overlapped or not, it gives what the fit and nmfc stages'
library calls give for the same frames and identity."""

import numpy as np

from h2h.face3d.fit import FitParams, fit_video
from h2h.face3d.fit_table import cameras_of, expressions_of, identities_of
from h2h.face3d.identity import average_identity
from h2h.face3d.nmfc import NMFCRenderer
from h2h.reenact.chain import recover_frames
from tests.support.params import FIT, TRIM


def test_the_chain_gives_the_stages_fits_and_nmfc_images(face_model, clips):
    clip = clips["obama.mov"]
    frames = clip.frames[:30]
    identity = average_identity(clip.fit, TRIM)
    overlapped = list(recover_frames(frames, face_model, FIT, identity))
    serial = list(recover_frames(frames, face_model, FIT, identity, workers=False))
    assert len(overlapped) == len(serial) == 30
    for a, b in zip(overlapped, serial):
        assert np.array_equal(a.nmfc, b.nmfc) and np.array_equal(a.eyes, b.eyes)
        assert np.array_equal(a.fit.camera, b.fit.camera)

    # The fit stage's second pass with this identity, and the nmfc stage's rendering of it.
    params = FitParams(**{**FIT.__dict__, "max_gap": 0})
    table = fit_video(face_model, clip.points[:30], clip.found[:30], 256, params, identity)
    assert table["valid"].all()
    np.testing.assert_array_equal(np.stack([r.fit.camera for r in serial]), cameras_of(table))
    np.testing.assert_array_equal(np.stack([r.fit.expression for r in serial]),
                                  expressions_of(table))
    np.testing.assert_array_equal(np.stack([r.fit.identity for r in serial]),
                                  identities_of(table))
    with NMFCRenderer(face_model, 256, 256) as renderer:
        expected = np.stack(list(renderer.render_table(table, identity)))
    assert np.array_equal(np.stack([r.nmfc for r in serial]), expected)
    # Eye sketches: white outlines and red pupils where the model's eyes are.
    colours = {tuple(c) for r in serial for c in np.unique(r.eyes.reshape(-1, 3), axis=0)}
    assert colours == {(0, 0, 0), (255, 255, 255), (255, 0, 0)}
