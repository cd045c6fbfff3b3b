"""The finetune stage: the person-specific video rendering network of one target and variant
(paper 3.4, 4.1), trained on the target's training split from the pretrained networks or from
scratch.

Checkpoints live outside the stage output (``state``) so that a killed run continues from its
last one when the stage runs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from h2h.core.config import Section
from h2h.train.config import TrainConfig
from h2h.train.data import ClipPaths
from h2h.train.job import CHECKPOINT_FILE, TrainingJob, run_training
from h2h.train.settings import TrainingPlan, TrainParams, Variant, training_plan


@dataclass(frozen=True)
class FinetuneParams(Section):
    """params.yaml's ``finetune`` section: what a variant does not say, and the optimisation."""

    name: ClassVar[str] = "finetune"

    init: str  # pretrain | scratch: where person-specific training starts
    max_frames: int  # training frames used (0: the whole training split)
    options: TrainConfig


def finetune_plan(train: TrainParams, params: FinetuneParams, variant: Variant) -> TrainingPlan:
    """The training plan of one variant."""
    return training_plan(train, params.options, variant, params.init, params.max_frames)


def finetune(target: str, variant_name: str, plan: TrainingPlan, data: Path, pretrained: Path,
             out: Path, state: Path = Path("checkpoints/finetune")) -> dict[str, Any]:
    """Train (or continue) ``target``'s network of ``variant_name`` on its stage outputs under
    ``data`` and write generator.pt, losses.csv and previews/ into ``out``. ``pretrained`` is
    the pretrain stage's output, read only when the plan starts from it."""
    state = state / target / variant_name
    job = TrainingJob(
        plan=plan, videos={target: ClipPaths.under(data, target)},
        work_dir=state / "work", checkpoint_dir=state / "checkpoints", stage="finetune",
        unit=f"{target}/{variant_name}", tags={"target": target, "variant": variant_name},
        init_from=pretrained / CHECKPOINT_FILE if plan.init == "pretrain" else None)
    return run_training(job, out)
