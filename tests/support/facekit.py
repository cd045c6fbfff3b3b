"""A few-vertex folder shaped like ICT-FaceKit's FaceXModel release (OBJ shapes with its header,
texture coordinates and quads; vertex_indices.json), whose conversion is known exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from h2h.face3d.ict_facekit import Layout

#: 8 vertices, the first 6 kept: face [0, 4) (narrow [0, 3)), head and neck [4, 6).
LAYOUT = Layout(kept=6, face=4, narrow_face=3, identities=2)
EXPRESSIONS = ("jawOpen", "eyeBlink_L")
NEUTRAL = np.arange(24, dtype=np.float64).reshape(8, 3) * 0.5 - 3.0
# The neutral mesh's faces (1-based in the file): two quads and two triangles, one quad and one
# triangle reaching the dropped vertices 6 and 7.
FACES = ((1, 2, 3, 4), (3, 5, 6), (5, 6, 7, 8), (2, 4, 5), (1, 7, 2))
TRIANGLES = np.array([[0, 1, 2], [0, 2, 3], [2, 4, 5], [1, 3, 4]], np.int32)
LANDMARKS = [i % 4 for i in range(68)]
FITTING = [5, 7, 1, 6, 0]  # -> 5, 1, 0
RIGID = [7, 2]  # -> 2


def offsets(seed: int) -> np.ndarray:
    """A shape's offsets from the neutral mesh: quarters, exact in binary floating point."""
    return np.random.default_rng(seed).integers(-8, 9, (8, 3)) * 0.25


IDENTITIES = [offsets(k) for k in range(LAYOUT.identities)]
BLENDSHAPES = {name: offsets(10 + i) for i, name in enumerate(EXPRESSIONS)}


def write_obj(path: Path, vertices: np.ndarray) -> None:
    lines = ["#" * 20, "# ICT FaceKit (test shape)", "#" * 20, "mtllib ICTFaceModelMaterial.mtl"]
    lines += [f"v {x:.15f} {y:.15f} {z:.15f}" for x, y, z in vertices]
    lines += [f"vt 0.{i} 0.5" for i in range(len(vertices))]
    lines += ["usemtl face"]
    lines += ["f " + " ".join(f"{v}/{v}" for v in face) for face in FACES]
    path.write_text("\n".join(lines) + "\n")


def make_facekit(folder: Path) -> Path:
    """Write the folder; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    write_obj(folder / "generic_neutral_mesh.obj", NEUTRAL)
    for k, offset in enumerate(IDENTITIES):
        write_obj(folder / f"identity{k:03d}.obj", NEUTRAL + offset)
    for name, offset in BLENDSHAPES.items():
        write_obj(folder / f"{name}.obj", NEUTRAL + offset)
    (folder / "vertex_indices.json").write_text(json.dumps({
        "expressions": list(EXPRESSIONS), "fitting_expressions": list(EXPRESSIONS),
        "idx_to_landmark_verts": LANDMARKS, "idx_to_fitting_verts": FITTING,
        "idx_to_rigid_verts": RIGID}))
    return folder
