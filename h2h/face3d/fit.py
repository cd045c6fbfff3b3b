"""Per-frame 3DMM fit to the dense Face Mesh points (the paper's 3.1 with Face Mesh standing in
for DenseFaceReg): a scaled-orthographic camera plus identity and expression coefficients.

Each frame's 468 observed points are matched by the model's 468 corresponded surface points
(:attr:`FaceModel.mediapipe_bases`); only the 2-D residuals count (Face Mesh's depth only
initialises the pose). Camera and shape are solved *jointly* by Gauss-Newton, each step one
bounded linear least-squares problem (expression weights in [0, 1]). Two passes, as the
measurements in FITTING_NOTES recommend:

1. identity: up to ``identity_frames`` frames spread over the video share one identity, solved
   together with their cameras and expressions (:func:`estimate_identity`);
2. every frame: camera + expression with that identity fixed, then the frame's own identity
   estimate given its camera and expression (what the identity stage averages over the
   training frames). The row's ``rmse_px`` is that of the row's own parameters.

Residuals are measured in model units (pixels / scale, i.e. cm), so the regularisation weights
do not depend on the image size: ``identity_reg`` = 1 makes the identity prior N(0, 1) weigh
like a 1 cm residual per coefficient. The solves are prefactored: the normal matrix of the
shape coefficients under any camera is a 3x3-weighted sum of per-axis Gram matrices of the
bases, computed once, so no frame builds the (936 x 153) Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from h2h.core.config import Section
from h2h.core.errors import H2HError
from h2h.core.progress import progress
from h2h.face3d.face_model import N_MEDIAPIPE, FaceModel
from h2h.face3d.fit_table import fill_short_gaps, make_table
from h2h.geometry.alignment import similarity_transform
from h2h.geometry.boxqp import solve_box_qp
from h2h.geometry.rotations import matrix_to_rotvec, rotvec_to_matrix
from h2h.media.sheets import sample_indices

#: Blendshapes kept at 0. Gaze is drawn by the eye sketches (paper 3.3); ICT's eyeLook* shapes
#: only nudge the eyelids (the eyeballs are not in the model), so the 468 points cannot tell them
#: from eye shape, eyeSquint and eyeWide, and fitting them adds lid jitter.
UNFITTED_EXPRESSIONS: tuple[str, ...] = tuple(
    f"eyeLook{d}_{s}" for d in ("Down", "In", "Out", "Up") for s in ("L", "R"))


@dataclass(frozen=True)
class FitParams(Section):
    """params.yaml's ``fit`` section: the regularised least-squares fit of paper 3.1."""

    name: ClassVar[str] = "fit"

    identity_reg: float  # ridge on identity coefficients (prior N(0, 1)), residuals in cm
    expression_reg: float  # small ridge on expression weights, which are also in [0, 1]
    steps: int  # joint Gauss-Newton steps per frame (at most; stops when converged)
    identity_frames: int  # frames fitted together to estimate the video's identity
    identity_rounds: int  # alternations of (cameras + expressions) and identity in pass 1
    max_gap: int  # frames without a face: interpolate runs up to this long
    min_valid: float  # a video with fewer fitted frames is rejected (:func:`check_coverage`)


@dataclass
class _Camera:
    """Scaled orthographic camera in the y-up frame: q = scale * (rot @ X)[:2] + t."""

    rot: np.ndarray
    scale: float
    t: np.ndarray


@dataclass(frozen=True)
class FrameFit:
    """One frame's row of the fit table (see :mod:`h2h.face3d.fit_table`)."""

    camera: np.ndarray  # (6,) rot_x, rot_y, rot_z, tx, ty (y down), scale
    identity: np.ndarray  # (n_id,) the frame's own identity estimate
    expression: np.ndarray  # (n_exp,) the model's full expression vector
    rmse_px: float
    fitted_expression: np.ndarray  # the fitted subset: warm start of the next frame


class FrameFitter:
    """The solver for one model: precomputed bases and Gram matrices, then per-frame solves.

    Observations are (468, 2) points in the y-up camera frame of :mod:`h2h.face3d.facemesh`
    (u right, v up, pixels); ``w`` (depth) is used only to initialise the pose.
    """

    def __init__(self, model: FaceModel, params: FitParams) -> None:
        if not model.has_correspondence:
            raise ValueError("the face model has no MediaPipe correspondence; build it first")
        self.params = params
        unknown = set(UNFITTED_EXPRESSIONS) - set(model.expression_names)
        if unknown:
            raise H2HError(f"unknown expression names in unfitted_expressions: {sorted(unknown)}")
        self.n_exp_model = model.n_expression
        self.fitted = np.array(
            [i for i, n in enumerate(model.expression_names) if n not in UNFITTED_EXPRESSIONS]
        )
        self.m0, u, e = model.mediapipe_bases
        e = e[self.fitted]
        self.n_id, self.n_exp = len(u), len(e)
        basis = np.concatenate([u, e])  # (n_id + n_exp, 468, 3)
        self.basis = basis.reshape(len(basis), -1)
        self.ids = slice(0, self.n_id)
        self.exps = slice(self.n_id, self.n_id + self.n_exp)
        # gram[a, b] = basis[:, :, a] @ basis[:, :, b].T: the normal matrix of the shape
        # coefficients under any camera is sum_ab (R2'R2)_ab gram[a, b].
        gram = np.stack([[basis[:, :, a] @ basis[:, :, b].T for b in range(3)] for a in range(3)])
        self.grams = {
            part: np.ascontiguousarray(gram[:, :, sl, sl])
            for part, sl in (("id", self.ids), ("exp", self.exps), ("all", slice(None)))
        }
        self.lo = np.r_[np.full(6, -np.inf), np.zeros(self.n_exp)]
        self.hi = np.r_[np.full(6, np.inf), np.ones(self.n_exp)]

    def full_expression(self, fitted: np.ndarray) -> np.ndarray:
        """The model's full expression vector for the fitted subset (the others are 0)."""
        out = np.zeros(self.n_exp_model)
        out[self.fitted] = fitted
        return out

    def shape(self, identity: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """(468, 3) corresponded model points for the identity and the *fitted* expressions."""
        coeffs = np.concatenate([identity, expression])
        return self.m0 + (coeffs @ self.basis).reshape(N_MEDIAPIPE, 3)

    @staticmethod
    def init_camera(shape: np.ndarray, observed3: np.ndarray) -> _Camera:
        """Pose from a 3-D similarity fit to the observed (u, v, w): a good start for the 2-D
        refinement, which alone could converge to the mirrored pose."""
        s, rot, t = similarity_transform(shape, observed3)
        return _Camera(rot, s, t[:2].copy())

    def normal_equations(
        self, observed: np.ndarray, cam: _Camera, coeffs: np.ndarray, part: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Newton normal equations ``h @ [d_camera, c] = g`` at the current point, without
        priors, in the camera increment (rotation 3, scale, translation 2) and the *new values*
        ``c`` of the coefficients of ``part`` ("id", "exp" or "all"; ``coeffs`` holds the
        current identity then expression).

        Residuals are in model units (pixels / scale). The shape block is the 3x3-weighted sum
        of per-axis Grams, so no frame builds the (936 x 153) Jacobian.
        """
        sl = {"id": self.ids, "exp": self.exps, "all": slice(None)}[part]
        basis = self.basis[sl]
        n = len(observed)
        rot, s, t = cam.rot, cam.scale, cam.t
        r2 = rot[:2]
        y = self.shape(coeffs[self.ids], coeffs[self.exps]) @ rot.T
        res = (observed - (s * y[:, :2] + t)) / s
        # Camera Jacobian (over s): left perturbation rot <- exp([d]x) rot, d(d x Y)/dd = -[Y]x.
        jc = np.zeros((n, 2, 6))
        jc[:, 0, 1], jc[:, 0, 2], jc[:, 0, 3], jc[:, 0, 4] = y[:, 2], -y[:, 1], y[:, 0] / s, 1 / s
        jc[:, 1, 0], jc[:, 1, 2], jc[:, 1, 3], jc[:, 1, 5] = -y[:, 2], y[:, 0], y[:, 1] / s, 1 / s
        jcf = jc.reshape(-1, 6)
        target = res + (coeffs[sl] @ basis).reshape(n, 3) @ r2.T
        h_zz = np.tensordot(r2.T @ r2, self.grams[part], 2)
        # Camera-shape block: J_c' (R2 B) as (6, n*3) @ (n*3, k), in the basis' memory order.
        h_cz = (jc.transpose(0, 2, 1) @ r2).transpose(1, 0, 2).reshape(6, -1) @ basis.T
        h = np.block([[jcf.T @ jcf, h_cz], [h_cz.T, h_zz]])
        g = np.concatenate([jcf.T @ target.ravel(), basis @ (target @ r2).ravel()])
        return h, g

    def fit_expression(
        self,
        observed3: np.ndarray,
        identity: np.ndarray,
        previous: np.ndarray | None = None,
    ) -> tuple[_Camera, np.ndarray]:
        """Camera and expression (in [0, 1]) of one frame for a known identity: joint
        Gauss-Newton, one bounded least-squares solve per step. (Alternating camera and shape
        solves converges too, but needs tens of rounds where they are coupled, e.g. pitch and
        jawOpen.) ``previous``: the last frame's expression, only to warm-start the bounded
        solver; the fit itself starts from the neutral face."""
        observed = observed3[:, :2]
        cam = self.init_camera(self.shape(identity, np.zeros(self.n_exp)), observed3)
        expression = np.zeros(self.n_exp)
        guess = None if previous is None else np.r_[np.zeros(6), previous]
        reg = np.r_[np.zeros(6), np.full(self.n_exp, self.params.expression_reg)]
        for _ in range(self.params.steps):
            h, g = self.normal_equations(observed, cam, np.concatenate([identity, expression]), "exp")
            h[np.diag_indices_from(h)] += reg
            sol = solve_box_qp(h, g, self.lo, self.hi, guess)
            guess = sol
            step, new = sol[:6], sol[6:]
            cam = _Camera(rotvec_to_matrix(step[:3]) @ cam.rot, cam.scale + step[3], cam.t + step[4:])
            done = np.abs(step[:3]).max() < 1e-5 and np.abs(new - expression).max() < 1e-4
            expression = new
            if done:
                break
        return cam, expression

    def frame_identity(
        self, observed: np.ndarray, cam: _Camera, identity: np.ndarray, expression: np.ndarray
    ) -> np.ndarray:
        """One frame's own identity for its fitted camera and expression: ridge least squares
        with the prior N(identity, 1/identity_reg), so it scatters around the video's identity
        with this frame's evidence (one linear solve; the model is linear in it)."""
        h, g = self.normal_equations(observed, cam, np.concatenate([identity, expression]), "id")
        h_ii, g_i = h[6:, 6:], g[6:]
        lam = self.params.identity_reg
        return np.linalg.solve(h_ii + lam * np.eye(self.n_id), g_i + lam * identity)

    def video_identity(
        self, frames: list[tuple[np.ndarray, _Camera, np.ndarray]], identity: np.ndarray
    ) -> np.ndarray:
        """One Newton step on the identity shared by ``frames`` (observed, camera, expression):
        each frame's camera and free expressions are re-optimised along with it (Schur
        complement), and the prior N(0, 1/identity_reg) counts once for the video. Returns the
        updated identity.

        Fixing the cameras and expressions instead and alternating converges very slowly: the
        identity and expression bases overlap (e.g. eye shape vs eyeWide).
        """
        ids = slice(6, 6 + self.n_id)
        schur = self.params.identity_reg * np.eye(self.n_id)
        rhs = np.zeros(self.n_id)
        for observed, cam, expression in frames:
            h, g = self.normal_equations(observed, cam, np.concatenate([identity, expression]), "all")
            exp_idx = np.arange(6 + self.n_id, len(g))
            at_bound = (expression <= 0.0) | (expression >= 1.0)
            fixed = exp_idx[at_bound]
            free = np.r_[np.arange(6), exp_idx[~at_bound]]
            g = g - h[:, fixed] @ expression[at_bound]
            h[exp_idx, exp_idx] += self.params.expression_reg
            h_uu = h[np.ix_(free, free)]
            h_ua = h[free, ids]
            x = np.linalg.solve(h_uu, np.column_stack([h_ua, g[free]]))
            schur += h[ids, ids] - h_ua.T @ x[:, :-1]
            rhs += g[ids] - h_ua.T @ x[:, -1]
        return np.linalg.solve(schur, rhs)

    def fit_frame(
        self,
        observed3: np.ndarray,
        identity: np.ndarray,
        image_height: int,
        previous: np.ndarray | None = None,
    ) -> FrameFit:
        """Pass 2 for one frame of (468, 3) Face Mesh points, given the video's ``identity``:
        camera and expression (:meth:`fit_expression`), then the frame's own identity
        (:meth:`frame_identity`) and its reprojection error. ``image_height`` converts to the
        table's y-down ``ty``; ``previous``: the last frame's ``fitted_expression``."""
        obs = np.asarray(observed3, np.float64)
        cam, expression = self.fit_expression(obs, identity, previous)
        own_identity = self.frame_identity(obs[:, :2], cam, identity, expression)
        return FrameFit(self.table_camera(cam, image_height), own_identity,
                        self.full_expression(expression),
                        self.rmse_px(obs[:, :2], cam, own_identity, expression), expression)

    @staticmethod
    def table_camera(cam: _Camera, image_height: int) -> np.ndarray:
        """A fitted camera as the fit table's six numbers (``ty`` measured down from the top of
        an image ``image_height`` pixels tall)."""
        return np.r_[matrix_to_rotvec(cam.rot), cam.t[0], image_height - cam.t[1], cam.scale]

    def rmse_px(
        self, observed: np.ndarray, cam: _Camera, identity: np.ndarray, expression: np.ndarray
    ) -> float:
        """Root mean square 2-D distance (pixels) between observed and projected points."""
        y = self.shape(identity, expression) @ cam.rot.T
        d = observed - (cam.scale * y[:, :2] + cam.t)
        return float(np.sqrt((d**2).sum(1).mean()))


def _check_points(points: np.ndarray, found: np.ndarray) -> None:
    if points.ndim != 3 or points.shape[1:] != (N_MEDIAPIPE, 3) or len(found) != len(points):
        raise ValueError(f"expected (N, {N_MEDIAPIPE}, 3) points and (N,) flags, got "
                         f"{points.shape} and {np.shape(found)}")
    if not np.asarray(found).any():
        raise H2HError("no face found in any frame")


def check_coverage(table: pd.DataFrame, min_valid: float, source: str | Path) -> None:
    """Raise :class:`H2HError` naming ``source`` when fewer than ``min_valid`` of the rows of a
    fit table are valid (the face was lost for long stretches)."""
    valid = table["valid"].to_numpy(bool)
    if valid.mean() < min_valid:
        raise H2HError(f"a face was fitted on only {valid.mean():.0%} of the frames (minimum "
                       f"{min_valid:.0%})", source)


def identity_sample_frames(found: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` frames with a face, evenly spread over the video."""
    frames = np.flatnonzero(found)
    return frames[sample_indices(len(frames), count)]


def estimate_identity(fitter: FrameFitter, points: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Pass 1: the video's identity from up to ``identity_frames`` frames fitted together.

    Rounds of: camera + expression per frame for the current identity, then a joint Newton
    step on the identity (:meth:`FrameFitter.video_identity`). Fitting the frames together lets
    head turns constrain the depth of the face, which no single 2-D frame does. Frames whose
    reprojection error is an outlier (beyond the median + 3 MADs: occlusion, a failed track)
    are left out of the identity step.
    """
    _check_points(points, found)
    frames = identity_sample_frames(found, fitter.params.identity_frames)
    observed3 = points[frames].astype(np.float64)
    identity = np.zeros(fitter.n_id)
    for _ in range(fitter.params.identity_rounds):
        fits = [fitter.fit_expression(obs, identity) for obs in observed3]
        errors = np.array(
            [fitter.rmse_px(o[:, :2], cam, identity, e) for o, (cam, e) in zip(observed3, fits)]
        )
        mad = np.median(np.abs(errors - np.median(errors)))
        keep = errors <= np.median(errors) + 3 * 1.4826 * mad + 1e-9
        identity = fitter.video_identity(
            [(o[:, :2], cam, e) for o, (cam, e), k in zip(observed3, fits, keep) if k], identity
        )
    return identity


def fit_video(
    model: FaceModel,
    points: np.ndarray,
    found: np.ndarray,
    image_height: int,
    params: FitParams,
    identity: np.ndarray | None = None,
) -> pd.DataFrame:
    """Fit every frame of one video; returns the fit table of :mod:`h2h.face3d.fit_table`.

    ``points`` / ``found``: output of :func:`h2h.face3d.facemesh.detect_face_mesh` (y-up camera frame);
    ``image_height`` converts to the table's y-down ``ty``. ``identity``: skip pass 1 and use
    this one (e.g. a target's known identity). Frames without a face are interpolated over runs
    of at most ``params.max_gap`` frames and stay invalid otherwise.
    """
    found = np.asarray(found, bool)
    _check_points(points, found)
    # One BLAS thread: the solves are tiny, and OpenBLAS's thread hand-offs made them ~3x slower.
    with threadpool_limits(1):
        table = _fit_frames(FrameFitter(model, params), points, found, image_height, identity)
    return fill_short_gaps(table, params.max_gap)


def _fit_frames(
    fitter: FrameFitter,
    points: np.ndarray,
    found: np.ndarray,
    image_height: int,
    identity: np.ndarray | None,
) -> pd.DataFrame:
    if identity is None:
        identity = estimate_identity(fitter, points, found)
    n = len(points)
    cams = np.full((n, 6), np.nan)
    ids = np.full((n, fitter.n_id), np.nan)
    exps = np.full((n, fitter.n_exp_model), np.nan)
    rmse = np.full(n, np.nan)
    previous = None
    for f in progress(np.flatnonzero(found), desc="fit", total=int(found.sum())):
        result = fitter.fit_frame(points[f], identity, image_height, previous)
        previous = result.fitted_expression
        cams[f], ids[f], exps[f], rmse[f] = (result.camera, result.identity, result.expression,
                                              result.rmse_px)
    return make_table(cams, ids, exps, found, rmse)
