"""The ICT-FaceKit 3D morphable model as the pipeline uses it.

One :class:`FaceModel` holds the render region of the ICT model (mean, identity and expression
bases, triangles), the NMFC colours (paper Eq. 3) and the dense correspondence of MediaPipe Face
Mesh's 468 landmarks to the model surface. The face_model stage builds it once
(:func:`build_face_model`) and saves it to one .npz that fit, nmfc and reenact load.

Units are ICT's: centimetres, +y up, +z out of the face, the subject's right eye at -x.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from h2h.core.config import Section
from h2h.core.errors import H2HError
from h2h.core.outputs import load_npz, save_npz
from h2h.geometry.alignment import closest_points_on_mesh, similarity_transform

REGIONS: tuple[str, ...] = ("face", "narrow_face", "face_and_neck")
N_MEDIAPIPE = 468
SCHEMA_VERSION = 1

# MediaPipe Face Mesh index -> iBUG-68 index: anatomical points that sit at the same place on
# both meshes (eye corners, nose bridge/tip/base, mouth corners, lip middles, chin). Used for the
# initial similarity alignment of the canonical MediaPipe face to the ICT mean.
MEDIAPIPE_TO_IBUG: dict[int, int] = {
    33: 36, 133: 39, 362: 42, 263: 45, 168: 27, 4: 30, 2: 33, 61: 48, 291: 54, 0: 51, 17: 57, 152: 8,
}

# The ICT vertices [0, 6706) are the face proper (no ears, neck or back of the head): the
# surface the 468 Face Mesh points are projected onto, whatever region is rendered.
_NARROW_FACE_END = 6706

_ICT_KEYS = (
    "mean", "identity_basis", "expression_basis", "expression_names", "triangles",
    "landmarks_68", "region_face", "region_narrow_face", "region_head_neck",
)


@dataclass(frozen=True)
class FaceModelParams(Section):
    """params.yaml's ``face_model`` section: which files and part of ICT-FaceKit (paper 3.1-3.2)."""

    name: ClassVar[str] = "face_model"

    ict: str  # the ICT-FaceKit npz (see ../shared/data/README.md for its keys)
    canonical: str  # MediaPipe's canonical face mesh (OBJ), for the Face Mesh correspondence
    region: str  # face | narrow_face | face_and_neck: the part rendered into NMFCs
    rounds: int  # closest-point / identity refits of the correspondence


@dataclass(frozen=True)
class FaceModel:
    """A region of the ICT model plus NMFC colours and the Face Mesh correspondence.

    ``mp_triangle`` / ``mp_barycentric`` are empty until :func:`with_correspondence`; the fit
    needs them, rendering does not.
    """

    mean: np.ndarray  # (V, 3) float32, cm
    identity_basis: np.ndarray  # (100, V, 3) float32, coefficients ~ N(0, 1)
    expression_basis: np.ndarray  # (53, V, 3) float32, blendshape offsets, weights in [0, 1]
    expression_names: tuple[str, ...]
    triangles: np.ndarray  # (F, 3) int32 into the V vertices
    colours: np.ndarray  # (V, 3) float32: normalised mean face in [0, 1]^3
    triangle_colours: np.ndarray  # (F, 3) uint8: the colour table of the NMFC images
    landmarks_68: np.ndarray  # (68,) int32 into the V vertices (iBUG order)
    vertex_ids: np.ndarray  # (V,) int32: index of each vertex in the full ICT model
    region: str
    mp_triangle: np.ndarray  # (468,) int32 into triangles, or empty
    mp_barycentric: np.ndarray  # (468, 3) float32, or empty

    @property
    def n_identity(self) -> int:
        return int(self.identity_basis.shape[0])

    @property
    def n_expression(self) -> int:
        return int(self.expression_basis.shape[0])

    @property
    def has_correspondence(self) -> bool:
        return self.mp_triangle.shape == (N_MEDIAPIPE,)

    def expression_index(self, name: str) -> int:
        """Position of a blendshape (e.g. ``"jawOpen"``) in the expression basis."""
        return self.expression_names.index(name)

    def shape(self, identity: np.ndarray | None = None, expression: np.ndarray | None = None) -> np.ndarray:
        """Eq. 1: mean + identity_basis . identity + expression_basis . expression -> (V, 3)."""
        out = self.mean.astype(np.float64)
        if identity is not None:
            out = out + np.tensordot(np.asarray(identity, np.float64), self.identity_basis, 1)
        if expression is not None:
            out = out + np.tensordot(np.asarray(expression, np.float64), self.expression_basis, 1)
        return out

    def at_mediapipe(self, vertex_data: np.ndarray) -> np.ndarray:
        """Interpolate per-vertex data (..., V, 3) at the 468 Face Mesh points -> (..., 468, 3)."""
        if not self.has_correspondence:
            raise ValueError("this FaceModel has no MediaPipe correspondence")
        corners = self.triangles[self.mp_triangle]  # (468, 3)
        data = np.asarray(vertex_data)
        return np.einsum("...pkc,pk->...pc", data[..., corners, :], self.mp_barycentric)

    @functools.cached_property
    def mediapipe_bases(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean (468, 3), identity (100, 468, 3), expression (53, 468, 3)) at the Face Mesh
        points, float64: everything the per-frame fit needs, ~500x smaller than the full bases."""
        return (
            self.at_mediapipe(self.mean.astype(np.float64)),
            self.at_mediapipe(self.identity_basis.astype(np.float64)),
            self.at_mediapipe(self.expression_basis.astype(np.float64)),
        )

    def save(self, path: str | Path) -> None:
        """Write everything to one .npz (uncompressed: the bases are float noise to zlib)."""
        save_npz(path, {
            "schema_version": np.int32(SCHEMA_VERSION),
            "mean": self.mean, "identity_basis": self.identity_basis,
            "expression_basis": self.expression_basis,
            "expression_names": np.array(self.expression_names),
            "triangles": self.triangles, "colours": self.colours,
            "triangle_colours": self.triangle_colours, "landmarks_68": self.landmarks_68,
            "vertex_ids": self.vertex_ids, "region": np.array(self.region),
            "mp_triangle": self.mp_triangle, "mp_barycentric": self.mp_barycentric,
        })

    @classmethod
    def load(cls, path: str | Path) -> FaceModel:
        """Read a model written by :meth:`save`."""
        data = load_npz(path)
        if int(data.get("schema_version", -1)) != SCHEMA_VERSION:
            raise H2HError(
                f"not a face model of schema {SCHEMA_VERSION}; rebuild it with the face_model stage",
                path,
            )
        return cls(
            mean=data["mean"], identity_basis=data["identity_basis"],
            expression_basis=data["expression_basis"],
            expression_names=tuple(str(n) for n in data["expression_names"]),
            triangles=data["triangles"], colours=data["colours"],
            triangle_colours=data["triangle_colours"], landmarks_68=data["landmarks_68"],
            vertex_ids=data["vertex_ids"], region=str(data["region"]),
            mp_triangle=data["mp_triangle"], mp_barycentric=data["mp_barycentric"],
        )


def normalised_mean_colours(mean: np.ndarray) -> np.ndarray:
    """The NMFC colour of each vertex: the mean face scaled to [0, 1] *per axis*.

    Per axis rather than isotropic so that each colour channel spans its full range: the face
    is ~1.6x deeper in y than in z, and an isotropic scaling would leave the blue channel (z)
    with fewer distinct levels after 8-bit quantisation.
    """
    lo, hi = mean.min(0), mean.max(0)
    return ((mean - lo) / (hi - lo)).astype(np.float32)


def triangle_colour_table(colours: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(F, 3) uint8: each triangle's colour is its centroid's normalised mean-face position
    (paper 3.2: "the normalised x-y-z coordinates of the centre of this triangle"), rounded to
    8 bits. Rendered flat, so every NMFC pixel is exactly one entry of this table."""
    centroid = colours[triangles].mean(1)
    return np.rint(centroid * 255.0).astype(np.uint8)


def _region_vertices(data: dict[str, np.ndarray], region: str) -> np.ndarray:
    if region == "face":
        return data["region_face"]
    if region == "narrow_face":
        return data["region_narrow_face"]
    if region == "face_and_neck":
        return np.concatenate([data["region_face"], data["region_head_neck"]])
    raise H2HError(f"unknown face model region {region!r}; choose one of {', '.join(REGIONS)}")


def load_ict(path: str | Path, region: str) -> FaceModel:
    """Load ``ict_facekit_light.npz`` and keep one render region.

    ``region``: ``"face"`` (ICT's region_face: face, ears and front of the neck), ``"narrow_face"``
    (the face proper) or ``"face_and_neck"`` (face plus head and neck). Triangles with a corner
    outside the region are dropped and the rest re-indexed to the kept vertices.
    """
    data = load_npz(path)
    missing = [k for k in _ICT_KEYS if k not in data]
    if missing:
        raise H2HError(f"not an ICT face model npz: missing {', '.join(missing)}", path)
    keep = np.sort(_region_vertices(data, region)).astype(np.int32)
    new_index = np.full(len(data["mean"]), -1, np.int64)
    new_index[keep] = np.arange(len(keep))
    tri = new_index[data["triangles"]]
    tri = tri[(tri >= 0).all(1)].astype(np.int32)
    lm = new_index[data["landmarks_68"]]
    if (lm < 0).any():
        raise H2HError(f"region {region!r} does not contain all 68 landmark vertices", path)
    mean = data["mean"][keep].astype(np.float32)
    colours = normalised_mean_colours(mean)
    return FaceModel(
        mean=mean,
        identity_basis=np.ascontiguousarray(data["identity_basis"][:, keep], dtype=np.float32),
        expression_basis=np.ascontiguousarray(data["expression_basis"][:, keep], dtype=np.float32),
        expression_names=tuple(str(n) for n in data["expression_names"]),
        triangles=tri,
        colours=colours,
        triangle_colours=triangle_colour_table(colours, tri),
        landmarks_68=lm.astype(np.int32),
        vertex_ids=keep,
        region=region,
        mp_triangle=np.zeros(0, np.int32),
        mp_barycentric=np.zeros((0, 3), np.float32),
    )


def read_obj_vertices(path: str | Path) -> np.ndarray:
    """The ``v x y z`` lines of a Wavefront OBJ as an (N, 3) float64 array."""
    path = Path(path)
    if not path.is_file():
        raise H2HError("file not found", path)
    rows = [line.split()[1:4] for line in path.read_text().splitlines() if line.startswith("v ")]
    try:
        return np.array(rows, dtype=np.float64).reshape(-1, 3)
    except ValueError as exc:
        raise H2HError(f"malformed vertex line in OBJ ({exc})", path) from exc


@dataclass(frozen=True)
class Correspondence:
    """Where each Face Mesh landmark sits on the ICT surface, and how well it fits there."""

    triangle: np.ndarray  # (468,) int32 into FaceModel.triangles
    barycentric: np.ndarray  # (468, 3) float32
    residual_mm: np.ndarray  # (468,) distance of the aligned canonical point to the surface
    identity: np.ndarray  # (100,) ICT identity fitted to the canonical face

    @property
    def median_mm(self) -> float:
        return float(np.median(self.residual_mm))

    @property
    def max_mm(self) -> float:
        return float(self.residual_mm.max())


def build_correspondence(
    model: FaceModel, canonical: np.ndarray, rounds: int = 5, identity_reg: float = 0.1
) -> Correspondence:
    """Dense correspondence of the 468 canonical Face Mesh vertices to the ICT face surface.

    1. Similarity-align the canonical face to the ICT mean with :data:`MEDIAPIPE_TO_IBUG`.
    2. ``rounds`` times: project every canonical point onto the closest point of the (current)
       ICT face surface; fit ICT identity coefficients (ridge ``identity_reg``) so that the
       surface at those points meets the canonical points; re-align the canonical face to them.
    The identity fit lets the generic ICT face take the canonical face's proportions, so points
    land on the anatomically matching place rather than just the nearest one.
    """
    if canonical.shape != (N_MEDIAPIPE, 3):
        raise ValueError(f"expected ({N_MEDIAPIPE}, 3) canonical vertices, got {canonical.shape}")
    face_tri_mask = (model.vertex_ids[model.triangles] < _NARROW_FACE_END).all(1)
    face_tri = np.flatnonzero(face_tri_mask)
    mp_idx = np.array(list(MEDIAPIPE_TO_IBUG))
    lm_vertices = model.landmarks_68[np.array(list(MEDIAPIPE_TO_IBUG.values()))]
    s, rot, t = similarity_transform(canonical[mp_idx], model.mean[lm_vertices])
    aligned = canonical @ (s * rot).T + t

    identity = np.zeros(model.n_identity)
    for _ in range(rounds):
        surface = model.shape(identity)
        hit = closest_points_on_mesh(aligned, surface, model.triangles[face_tri])
        corners = model.triangles[face_tri[hit.triangle]]
        # Linear map identity -> the 468 surface points: sum_k w_k * basis[:, corner_k].
        ids = model.identity_basis[:, corners].astype(np.float64)  # (100, 468, 3, 3)
        a = np.einsum("ipkc,pk->ipc", ids, hit.barycentric).reshape(model.n_identity, -1).T
        mean_pts = np.einsum("pkc,pk->pc", model.mean[corners].astype(np.float64), hit.barycentric)
        rhs = (aligned - mean_pts).ravel()
        identity = np.linalg.solve(a.T @ a + identity_reg * np.eye(model.n_identity), a.T @ rhs)
        fitted = mean_pts + (a @ identity).reshape(-1, 3)
        s, rot, t = similarity_transform(canonical, fitted)
        aligned = canonical @ (s * rot).T + t
    surface = model.shape(identity)
    hit = closest_points_on_mesh(aligned, surface, model.triangles[face_tri])
    return Correspondence(
        triangle=face_tri[hit.triangle].astype(np.int32),
        barycentric=hit.barycentric.astype(np.float32),
        residual_mm=(hit.distance * 10.0).astype(np.float32),
        identity=identity,
    )


def with_correspondence(model: FaceModel, corr: Correspondence) -> FaceModel:
    """A copy of ``model`` carrying the Face Mesh correspondence."""
    return replace(model, mp_triangle=corr.triangle, mp_barycentric=corr.barycentric)


def build_face_model(
    ict_path: str | Path, canonical_obj_path: str | Path, region: str, rounds: int
) -> tuple[FaceModel, Correspondence]:
    """What the face_model stage does: load the region, build the correspondence, attach it.

    BLAS runs single-threaded: multi-threaded reductions round differently from run to run and
    machine to machine, and the model should be the same file wherever the stage runs.
    """
    model = load_ict(ict_path, region)
    canonical = read_obj_vertices(canonical_obj_path)
    if canonical.shape != (N_MEDIAPIPE, 3):
        raise H2HError(f"expected {N_MEDIAPIPE} vertices, found {len(canonical)}", canonical_obj_path)
    with threadpool_limits(1):
        corr = build_correspondence(model, canonical, rounds=rounds)
    return with_correspondence(model, corr), corr
