"""ICT-FaceKit's own release converted into the face model file the pipeline reads.

ICT-FaceKit publishes its model as Wavefront OBJ shapes (``FaceXModel/``: the generic neutral
mesh, ``identity000..099.obj`` and one OBJ per expression blendshape, all with the same vertices)
and ``vertex_indices.json`` (the expressions' order, landmark, fitting and rigid vertices).
:func:`convert_facexmodel` turns such a folder into ``ict_facekit_light.npz`` (keys, shapes and
conventions as documented with the data and read by :func:`h2h.face3d.face_model.load_ict`):

- only the face and head-and-neck vertices ``[0, 11248)`` are kept (the eyes, mouth interior and
  back of the head of the full 26,719-vertex model are never rendered);
- ``mean`` is the neutral mesh; ``identity_basis[k]`` is ``identity{k:03d}.obj`` minus the
  neutral mesh (each identity file is the +1 standard-deviation shape, so coefficients are
  ~N(0, 1)); ``expression_basis[i]`` is the OBJ named by the json's ``expressions[i]`` minus the
  neutral mesh; differences are taken in float64, as the files are written, then stored float32;
- ``triangles`` are the neutral mesh's faces whose corners are all kept, each polygon split into
  a fan (a quad 0-1-2-3 into 0-1-2 and 0-2-3);
- ``landmarks_68`` is the json's ``idx_to_landmark_verts``; the fitting and rigid vertex lists are
  the json's, restricted to kept vertices.

Units are ICT's: centimetres, +y up, +z out of the face.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from h2h.core.errors import H2HError
from h2h.core.outputs import load_npz, save_npz
from h2h.face3d.face_model import read_obj_vertices

#: ICT-FaceKit's commit the face model is converted from (github.com/ICT-VGL/ICT-FaceKit).
ICT_COMMIT = "da5f95a607f5e6b37755b38d3385d7f2853732e5"
SOURCE = (f"ICT-FaceKit (github.com/ICT-VGL/ICT-FaceKit) FaceXModel at commit {ICT_COMMIT}, "
          "MIT license")
NEUTRAL = "generic_neutral_mesh.obj"
INDICES = "vertex_indices.json"
#: The keys of the face model file, in the order they are written.
KEYS = ("mean", "identity_basis", "expression_basis", "expression_names", "triangles",
        "landmarks_68", "region_face", "region_narrow_face", "region_head_neck",
        "fitting_vertices", "rigid_vertices", "source")


@dataclass(frozen=True)
class Layout:
    """Which leading vertices of the model are kept and how they split into regions: the face
    ``[0, face)`` (its narrow part ``[0, narrow_face)``), then head and neck ``[face, kept)``;
    and how many identity shapes there are."""

    kept: int = 11248
    face: int = 9409
    narrow_face: int = 6706
    identities: int = 100


ICT_LAYOUT = Layout()


def identity_file(index: int) -> str:
    """The OBJ of identity shape ``index``."""
    return f"identity{index:03d}.obj"


def read_vertex_indices(folder: str | Path) -> dict[str, Any]:
    """``vertex_indices.json`` of a FaceXModel folder, checked for the lists the model needs."""
    path = Path(folder) / INDICES
    if not path.is_file():
        raise H2HError("file not found in the ICT-FaceKit folder", path)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise H2HError(f"not valid JSON ({error})", path) from None
    needed = ("expressions", "idx_to_landmark_verts", "idx_to_fitting_verts",
              "idx_to_rigid_verts")
    missing = [key for key in needed if not isinstance(data.get(key), list)]
    if missing:
        raise H2HError(f"no list {', '.join(missing)}", path)
    if len(data["idx_to_landmark_verts"]) != 68:
        raise H2HError(f"idx_to_landmark_verts has {len(data['idx_to_landmark_verts'])} "
                       "entries, expected 68", path)
    return data


def required_files(indices: dict[str, Any], layout: Layout = ICT_LAYOUT) -> list[str]:
    """Every file of the folder the conversion reads."""
    return ([NEUTRAL, INDICES] + [identity_file(k) for k in range(layout.identities)]
            + [f"{name}.obj" for name in indices["expressions"]])


def read_obj_faces(path: str | Path) -> list[list[int]]:
    """The ``f`` lines of a Wavefront OBJ as 0-based vertex indices (texture and normal indices
    dropped)."""
    faces = []
    for line in Path(path).read_text().splitlines():
        if line.startswith("f "):
            try:
                faces.append([int(corner.split("/")[0]) - 1 for corner in line.split()[1:]])
            except ValueError:
                raise H2HError(f"malformed face line in OBJ: {line!r}", path) from None
    return faces


def fan_triangles(faces: Sequence[Sequence[int]], kept: int) -> np.ndarray:
    """(F, 3) int32: each face with all corners below ``kept`` split into a fan of triangles."""
    triangles = [(face[0], face[i], face[i + 1]) for face in faces if max(face) < kept
                 for i in range(1, len(face) - 1)]
    return np.array(triangles, np.int32).reshape(-1, 3)


def kept_indices(indices: Sequence[int], kept: int) -> np.ndarray:
    """The entries of a vertex list below ``kept``, in their order, int32."""
    values = np.asarray(indices, np.int64)
    return values[values < kept].astype(np.int32)


def facekit_arrays(folder: str | Path, layout: Layout = ICT_LAYOUT,
                   expressions: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The face model's arrays (:data:`KEYS`) from a FaceXModel folder.

    ``expressions``: the blendshapes to convert, by name (default: all of the json's, in its
    order). Raises :class:`H2HError` naming the file for a missing or malformed file and for a
    shape whose vertex count differs from the neutral mesh's.
    """
    folder = Path(folder)
    indices = read_vertex_indices(folder)
    names = list(indices["expressions"] if expressions is None else expressions)
    neutral = read_obj_vertices(folder / NEUTRAL)
    if len(neutral) < layout.kept:
        raise H2HError(f"{len(neutral)} vertices, fewer than the {layout.kept} kept",
                       folder / NEUTRAL)
    landmarks = np.asarray(indices["idx_to_landmark_verts"], np.int64)
    if landmarks.max() >= layout.kept or landmarks.min() < 0:
        raise H2HError(f"a landmark vertex lies outside [0, {layout.kept})", folder / INDICES)

    def offsets(files: Sequence[str]) -> np.ndarray:
        basis = np.empty((len(files), layout.kept, 3), np.float32)
        for row, name in enumerate(files):
            shape = read_obj_vertices(folder / name)
            if shape.shape != neutral.shape:
                raise H2HError(f"{len(shape)} vertices, the neutral mesh has {len(neutral)}",
                               folder / name)
            basis[row] = (shape - neutral)[:layout.kept]
        return basis

    return {
        "mean": neutral[:layout.kept].astype(np.float32),
        "identity_basis": offsets([identity_file(k) for k in range(layout.identities)]),
        "expression_basis": offsets([f"{name}.obj" for name in names]),
        "expression_names": np.array(names),
        "triangles": fan_triangles(read_obj_faces(folder / NEUTRAL), layout.kept),
        "landmarks_68": landmarks.astype(np.int32),
        "region_face": np.arange(layout.face, dtype=np.int32),
        "region_narrow_face": np.arange(layout.narrow_face, dtype=np.int32),
        "region_head_neck": np.arange(layout.face, layout.kept, dtype=np.int32),
        "fitting_vertices": kept_indices(indices["idx_to_fitting_verts"], layout.kept),
        "rigid_vertices": kept_indices(indices["idx_to_rigid_verts"], layout.kept),
        "source": np.array(SOURCE),
    }


def convert_facexmodel(folder: str | Path, out: str | Path,
                       layout: Layout = ICT_LAYOUT) -> Path:
    """Write the face model file ``out`` from the FaceXModel folder ``folder`` (compressed, with
    fixed member dates: the same folder always gives the same bytes). ``out`` appears only when
    complete."""
    save_npz(out, facekit_arrays(folder, layout), compress=True)
    return Path(out)


def check_face_model_file(path: str | Path) -> None:
    """Raise :class:`H2HError` unless ``path`` holds every key of the face model file with
    consistent shapes (e.g. a link to a copy made elsewhere)."""
    data = load_npz(path)
    missing = [key for key in KEYS if key not in data]
    if missing:
        raise H2HError(f"not an ICT face model file: missing {', '.join(missing)}", path)
    vertices = data["mean"].shape
    if (len(vertices) != 2 or vertices[1] != 3
            or data["identity_basis"].shape[1:] != vertices
            or data["expression_basis"].shape[1:] != vertices
            or len(data["expression_names"]) != len(data["expression_basis"])):
        raise H2HError("inconsistent shapes of mean, identity_basis, expression_basis and "
                       "expression_names", path)
