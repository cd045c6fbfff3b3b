"""The dlib model files that the face_recognition_models package ships.

The package is located without importing it: its import needs pkg_resources, which recent
setuptools no longer provide.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from h2h.core.errors import H2HError

LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
LANDMARKS_5 = "shape_predictor_5_face_landmarks.dat"
FACE_EMBEDDING = "dlib_face_recognition_resnet_model_v1.dat"


def dlib_model_path(name: str) -> Path:
    """Path of the model file ``name``; :class:`H2HError` when the package or file is missing."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise H2HError("the dlib face models are missing: pip install face_recognition_models",
                       name)
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise H2HError("dlib model missing: reinstall face_recognition_models", path)
    return path
