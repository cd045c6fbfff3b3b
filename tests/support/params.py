"""The project's own params.yaml as the tests' settings: tests take values from it (one place
for defaults) and override only what they are about."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from h2h.core.config import load_params
from h2h.face3d.face_model import FaceModelParams
from h2h.face3d.fit import FitParams
from h2h.face3d.identity import IdentityParams
from h2h.nn.config import ModelConfig
from h2h.nn.losses import LossConfig
from h2h.preprocess.crop import CropParams
from h2h.preprocess.landmarks import LandmarksParams
from h2h.train.config import TrainConfig
from h2h.train.finetune import FinetuneParams
from h2h.train.settings import TrainParams
from tests.support.project import ROOT

PARAMS = load_params(ROOT / "params.yaml")
CROP = CropParams.from_params(PARAMS)
LANDMARKS = LandmarksParams.from_params(PARAMS)
FACE_MODEL = FaceModelParams.from_params(PARAMS)
FIT = FitParams.from_params(PARAMS)
TRIM = IdentityParams.from_params(PARAMS).trim


def options(**changes: Any) -> TrainConfig:
    """The finetune stage's training options with ``changes``."""
    return replace(FinetuneParams.from_params(PARAMS).options, **changes)


def loss(**changes: Any) -> LossConfig:
    """The training objective of params.yaml with ``changes``."""
    return replace(TrainParams.from_params(PARAMS).loss, **changes)


def profile(name: str, **changes: Any) -> ModelConfig:
    """The networks of ``train.profiles[name]`` with ``changes``."""
    return replace(replace(TrainParams.from_params(PARAMS), profile=name).model(), **changes)
