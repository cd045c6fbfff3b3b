"""From params.yaml's ``train`` section and a variant to the objects a training run needs.

``train`` describes the networks and their objective, shared by pretraining and fine-tuning; the
``pretrain`` and ``finetune`` sections (:mod:`h2h.train.pretrain`, :mod:`h2h.train.finetune`)
hold how each is optimised. A *variant* (an entry of ``variant_specs``) changes the full model in
the ways the paper studies: ablation switches (Tables 1-3), the number of training frames
(Fig. 7) and whether training starts from the pretrained networks (Table 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

from h2h.core.config import Section, from_mapping
from h2h.core.errors import H2HError
from h2h.nn.config import Ablation, ModelConfig
from h2h.nn.losses import LossConfig
from h2h.train.config import TrainConfig

INIT_CHOICES = ("pretrain", "scratch")
ABLATION_SWITCHES = tuple(f.name for f in fields(Ablation))


@dataclass(frozen=True)
class TrainParams(Section):
    """params.yaml's ``train`` section: the networks (a size profile) and the objective."""

    name: ClassVar[str] = "train"

    profile: str  # the entry of ``profiles`` to train
    profiles: dict[str, dict[str, int]]  # name -> ModelConfig sizes
    loss: LossConfig
    vgg_weights: str | None  # torchvision vgg19 state dict for the VGG loss
    processes: int  # data-parallel processes (one per GPU)

    def model(self, ablation: Ablation = Ablation()) -> ModelConfig:
        """The networks of ``profile`` with ``ablation`` applied."""
        if self.profile not in self.profiles:
            raise H2HError(f"unknown training profile {self.profile!r}; choose one of "
                           f"{', '.join(self.profiles)}", "params.yaml")
        sizes = from_mapping(ModelConfig, self.profiles[self.profile],
                             f"train.profiles.{self.profile}")
        return replace(sizes, ablation=ablation)


@dataclass(frozen=True)
class Variant:
    """One entry of ``variant_specs``: what it changes of the full model and its training.

    A variant lists only what it changes: an absent ablation switch is off, an absent ``init``
    or ``max_frames`` is the ``finetune`` section's.
    """

    ablation: Ablation = Ablation()
    init: str | None = None
    max_frames: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any], name: str) -> Variant:
        """The variant ``name`` of ``params["variant_specs"]`` (switches and settings in one
        mapping, as params.yaml writes them)."""
        spec = dict(params["variant_specs"][name])
        switches = {switch: spec.pop(switch) for switch in ABLATION_SWITCHES if switch in spec}
        settings = from_mapping(cls, spec, f"variant_specs.{name}")
        return replace(settings, ablation=Ablation(**switches))


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


def training_plan(train: TrainParams, options: TrainConfig, variant: Variant = Variant(),
                  init: str = "scratch", max_frames: int = 0) -> TrainingPlan:
    """The plan of one run: ``options`` from the ``pretrain`` or ``finetune`` section, ``init``
    and ``max_frames`` the defaults that ``variant`` may override."""
    init = variant.init or init
    if init not in INIT_CHOICES:
        raise H2HError(f"init must be one of {', '.join(INIT_CHOICES)}, got {init!r}",
                       "params.yaml")
    ablation = variant.ablation
    if train.loss.uses_vgg(ablation) and not train.vgg_weights:
        raise H2HError("the VGG loss needs VGG19 weights: set train.vgg_weights to a torchvision "
                       "vgg19 state-dict file (see README), or train.loss.lambda_vgg to 0",
                       "params.yaml")
    return TrainingPlan(
        model=train.model(ablation),
        loss=train.loss,
        options=options,
        init=init,
        max_frames=variant.max_frames if variant.max_frames is not None else max_frames,
        vgg_weights=train.vgg_weights,
        processes=train.processes,
    )
