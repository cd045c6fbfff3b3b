"""Throughput of the 3D face stages on one clip: Face Mesh, fit, NMFC render, eye sketches, and
the per-frame chain of all four overlapped on the cores (:func:`h2h.reenact.chain.recover_frames`).

Prints nothing and asserts nothing: it returns the figures for a benchmark script or a stage
to log. The fit's first pass (identity from up to ``identity_frames`` frames) is a fixed cost
per video and is reported apart from the per-frame pass.
"""

from __future__ import annotations

import time

import numpy as np

from h2h.face3d.face_model import FaceModel
from h2h.face3d.facemesh import detect_face_mesh
from h2h.face3d.fit import FitParams, fit_video
from h2h.face3d.fit_table import cameras_of, expressions_of, identities_of
from h2h.face3d.identity import average_identity
from h2h.face3d.nmfc import NMFCRenderer
from h2h.face3d.preview import landmarks_68
from h2h.preprocess.eyes import draw_eyes
from h2h.reenact.chain import recover_frames


def benchmark(model: FaceModel, frames: np.ndarray, params: FitParams,
              trim: float) -> dict[str, float]:
    """Frames per second of each step on ``frames`` (N, H, W, 3) uint8, and of the chain, with
    the fit's ``params`` and the identity stage's ``trim``.

    Keys: ``frames``, ``facemesh_fps``, ``identity_pass_s`` (pass 1, once per video),
    ``fit_fps`` (pass 2, per frame), ``nmfc_fps``, ``eyes_fps`` (each step alone, one after
    the other) and ``per_frame_fps``: the chain of Face Mesh + fit + NMFC + eyes per frame with
    the steps overlapped, from the first frame in to the last out (pass 1 excluded). The eye
    sketches are drawn from the fitted model's eye landmarks (the landmarks stage is not part
    of this chain).
    """
    n, h, w = frames.shape[:3]
    t0 = time.perf_counter()
    points, found = detect_face_mesh(frames)
    t1 = time.perf_counter()
    table = fit_video(model, points, found, h, params)
    t2 = time.perf_counter()
    identity = average_identity(table, trim)
    fit_again = fit_video(model, points, found, h, params, identity=identity)
    t3 = time.perf_counter()
    with NMFCRenderer(model, h, w) as renderer:
        for _ in renderer.render_table(fit_again, identity):
            pass
    t4 = time.perf_counter()
    cams, ids, exps = cameras_of(table), identities_of(table), expressions_of(table)
    valid = table["valid"].to_numpy(bool)
    eye_pts = np.full((n, 14, 2), np.nan)
    for i in np.flatnonzero(valid):
        lm = landmarks_68(model, ids[i], exps[i], cams[i])
        eye_pts[i, :12] = lm[36:48]
        eye_pts[i, 12:] = lm[36:42].mean(0), lm[42:48].mean(0)
    t5 = time.perf_counter()
    for p in eye_pts:
        draw_eyes(p, h, w)
    t6 = time.perf_counter()
    for _ in recover_frames(frames, model, params, identity):
        pass
    t7 = time.perf_counter()
    fit_s = t3 - t2
    return {
        "frames": float(n),
        "facemesh_fps": n / (t1 - t0),
        "identity_pass_s": max((t2 - t1) - fit_s, 0.0),
        "fit_fps": n / fit_s,
        "nmfc_fps": n / (t4 - t3),
        "eyes_fps": n / (t6 - t5),
        "per_frame_fps": n / (t7 - t6),
    }
