"""From params.yaml's ``train`` / ``pretrain`` sections and a variant to the training objects.

A *variant* (an entry of ``variant_specs``) changes the full model in the ways the paper studies:
ablation switches (Tables 1-3), the number of training frames (Fig. 7) and whether training
starts from the pretrained networks (Table 4).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from h2h.core.errors import H2HError
from h2h.nn.config import Ablation, ModelConfig
from h2h.nn.losses import LossConfig
from h2h.train.config import TrainConfig

INIT_CHOICES = ("pretrain", "scratch")
ABLATION_SWITCHES = tuple(f.name for f in fields(Ablation))


@dataclass(frozen=True)
class TrainingPlan:
    """Everything a training stage needs to call :func:`h2h.train.loop.train`."""

    model: ModelConfig
    loss: LossConfig
    options: TrainConfig
    init: str  # "pretrain" or "scratch"
    max_frames: int  # 0: every training frame
    vgg_weights: str | None
    processes: int


def model_config(train: dict[str, Any]) -> ModelConfig:
    """The network sizes of the profile ``train.profile`` (the defaults are the paper's)."""
    profiles = train["profiles"]
    if train["profile"] not in profiles:
        raise H2HError(f"unknown training profile {train['profile']!r}; choose one of "
                       f"{', '.join(profiles)}", "params.yaml")
    return ModelConfig(**profiles[train["profile"]])


def training_plan(train: dict[str, Any], options: dict[str, Any],
                  variant: dict[str, Any] | None = None) -> TrainingPlan:
    """The plan of one run: ``options`` are TrainConfig fields (``train.options`` when
    finetuning, ``pretrain.options`` when pretraining), ``variant`` a ``variant_specs`` entry."""
    variant = dict(variant or {})
    unknown = set(variant) - set(ABLATION_SWITCHES) - {"init", "max_frames"}
    if unknown:
        raise H2HError(f"unknown variant settings: {', '.join(sorted(unknown))}", "params.yaml")
    ablation = Ablation(**{k: bool(variant.get(k, False)) for k in ABLATION_SWITCHES})
    init = variant.get("init", train["init"])
    if init not in INIT_CHOICES:
        raise H2HError(f"init must be one of {', '.join(INIT_CHOICES)}, got {init!r}",
                       "params.yaml")
    loss = LossConfig(**train["loss"])
    if loss.uses_vgg(ablation) and not train["vgg_weights"]:
        raise H2HError("the VGG loss needs VGG19 weights: set train.vgg_weights to a torchvision "
                       "vgg19 state-dict file (see README), or train.loss.lambda_vgg to 0",
                       "params.yaml")
    return TrainingPlan(
        model=replace(model_config(train), ablation=ablation),
        loss=loss,
        options=TrainConfig(**options),
        init=init,
        max_frames=int(variant.get("max_frames", train["max_frames"])),
        vgg_weights=train["vgg_weights"],
        processes=int(train["processes"]),
    )
