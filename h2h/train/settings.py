"""From params.yaml's ``train`` section and a variant to the objects a training run needs.

``train`` describes the networks, their objective and the augmentation of their conditioning,
shared by pretraining and fine-tuning; the ``pretrain`` and ``finetune`` sections
(:mod:`h2h.train.pretrain`, :mod:`h2h.train.finetune`) hold how each is optimised. A *variant*
(an entry of ``variant_specs``) changes the full model in the ways the paper studies: ablation
switches (Tables 1-3), the number of training frames (Fig. 7) and whether training starts from
the pretrained networks (Table 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar

from h2h.core.config import Section, from_mapping
from h2h.core.errors import H2HError
from h2h.nn.config import Ablation, ModelConfig
from h2h.nn.losses import LossConfig
from h2h.train.augment import Augmentation
from h2h.train.config import TrainConfig, differences, model_config_to_dict

INIT_CHOICES = ("pretrain", "scratch")
#: Keys of a profile that set its training, not its networks' sizes.
_TRAINING_KEYS = ("lambda_l1", "lr_scale")
ABLATION_SWITCHES = tuple(f.name for f in fields(Ablation))


@dataclass(frozen=True)
class TrainParams(Section):
    """params.yaml's ``train`` section: the networks (a size profile), the objective and the
    augmentation of the conditioning."""

    name: ClassVar[str] = "train"

    profile: str  # the entry of ``profiles`` to train
    profiles: dict[str, dict[str, float]]  # name -> ModelConfig sizes, lambda_l1, lr_scale
    loss: LossConfig
    augment: Augmentation
    vgg_weights: str | None  # torchvision vgg19 state dict for the VGG loss
    processes: int  # data-parallel processes (one per GPU)

    def _profile(self) -> dict[str, float]:
        if self.profile not in self.profiles:
            raise H2HError(f"unknown training profile {self.profile!r}; choose one of "
                           f"{', '.join(self.profiles)}", "params.yaml")
        return self.profiles[self.profile]

    def model(self, ablation: Ablation = Ablation()) -> ModelConfig:
        """The networks of ``profile`` with ``ablation`` applied."""
        sizes = {k: v for k, v in self._profile().items() if k not in _TRAINING_KEYS}
        return replace(from_mapping(ModelConfig, sizes, f"train.profiles.{self.profile}"),
                       ablation=ablation)

    def objective(self) -> LossConfig:
        """``loss`` with the profile's L1 term (the CPU profiles' stand-in for the VGG term)."""
        return replace(self.loss, lambda_l1=float(self._profile()["lambda_l1"]))

    def optimisation(self, options: TrainConfig) -> TrainConfig:
        """A stage's ``options`` with the learning rate scaled by the profile's ``lr_scale``
        (the CPU profiles' few hundred steps take larger ones than the paper's)."""
        return replace(options, lr=options.lr * float(self._profile()["lr_scale"]))


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

    def start(self, default: str) -> str:
        """Where this variant's person-specific training starts: its ``init``, else
        ``default`` (the finetune section's)."""
        return self.init or default

    def pretraining(self) -> Variant:
        """What this variant's pretraining changes: its network and loss switches only (the
        corpus is used whole and from scratch), so variants that differ only in fine-tuning
        (``init``, ``max_frames``) share one pretraining."""
        return replace(self, init=None, max_frames=None)


@dataclass(frozen=True)
class TrainingPlan:
    """Everything a training stage needs to call :func:`h2h.train.loop.train`."""

    model: ModelConfig
    loss: LossConfig
    augment: Augmentation
    options: TrainConfig
    init: str  # "pretrain" or "scratch"
    max_frames: int  # 0: every training frame
    vgg_weights: str | None
    processes: int


def training_plan(train: TrainParams, options: TrainConfig, variant: Variant = Variant(),
                  init: str = "scratch", max_frames: int = 0) -> TrainingPlan:
    """The plan of one run: ``options`` from the ``pretrain`` or ``finetune`` section, ``init``
    and ``max_frames`` the defaults that ``variant`` may override."""
    init = variant.start(init)
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
        loss=train.objective(),
        augment=train.augment,
        options=train.optimisation(options),
        init=init,
        max_frames=variant.max_frames if variant.max_frames is not None else max_frames,
        vgg_weights=train.vgg_weights,
        processes=train.processes,
    )


def configuration(plan: TrainingPlan) -> dict[str, Any]:
    """A plan's fully resolved configuration as plain data (what the run records)."""
    return {"model": model_config_to_dict(plan.model), "loss": asdict(plan.loss),
            "train": asdict(plan.options), "init": plan.init, "max_frames": plan.max_frames,
            "vgg_weights": plan.vgg_weights, "processes": plan.processes}


def differs_from_full(plan: TrainingPlan, full: TrainingPlan) -> list[str]:
    """``key: full's value -> plan's value`` for each setting in which ``plan`` differs from the
    full model's plan (the same sections without a variant): a variant's switches, resolved."""
    return differences(configuration(full), configuration(plan))
