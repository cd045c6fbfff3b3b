"""The finetune stage: the person-specific video rendering network of one target and variant
(paper 3.4, 4.1), trained on the target's training split from scratch (the paper's ablations,
Tables 1-3) or from the variant's own pretraining (Table 4).

Checkpoints live outside the stage output (``state``) so that a killed run continues from its
last one when the stage runs again, as long as it would train the same thing on the same data:
its configuration, the content of the target's clip and the starting weights are all part of the
run's identity. ``training.json`` records the resolved configuration, what it changes of the
full model, where its weights started and the generator it made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from h2h.core.config import Section
from h2h.core.digests import file_digest
from h2h.core.outputs import write_json
from h2h.train.config import TrainConfig
from h2h.train.data import ClipPaths
from h2h.train.job import TrainingJob, run_training
from h2h.train.loop import GENERATOR_FILE
from h2h.train.pretrain import starting_point
from h2h.train.settings import (
    TrainingPlan,
    TrainParams,
    Variant,
    configuration,
    differs_from_full,
    training_plan,
)

#: The stage output that records what was trained, from what, and what it made.
TRAINING_FILE = "training.json"


@dataclass(frozen=True)
class FinetuneParams(Section):
    """params.yaml's ``finetune`` section: what a variant does not say, and the optimisation."""

    name: ClassVar[str] = "finetune"

    init: str  # scratch | pretrain: where person-specific training starts
    max_frames: int  # training frames used (0: the whole training split)
    options: TrainConfig


def finetune_plan(train: TrainParams, params: FinetuneParams, variant: Variant) -> TrainingPlan:
    """The training plan of one variant (``Variant()``: the full model)."""
    return training_plan(train, params.options, variant, params.init, params.max_frames)


def finetune(target: str, variant_name: str, plan: TrainingPlan, full: TrainingPlan, data: Path,
             pretrained: Path, out: Path, state: Path = Path("checkpoints/finetune")
             ) -> dict[str, Any]:
    """Train (or continue) ``target``'s network of ``variant_name`` on its stage outputs under
    ``data`` and write generator.pt, losses.csv, previews/ and training.json into ``out``.
    ``pretrained`` is the variant's pretrain stage output (its init.json says where training
    starts); ``full`` is the full model's plan, what the record compares the variant with."""
    start = starting_point(pretrained, plan)
    changes = differs_from_full(plan, full)
    state = state / target / variant_name
    job = TrainingJob(
        plan=plan, videos={target: ClipPaths.under(data, target)},
        work_dir=state / "work", checkpoint_dir=state / "checkpoints", stage="finetune",
        unit=f"{target}/{variant_name}",
        tags={"target": target, "variant": variant_name,
              "differs_from_full": "; ".join(changes) or "nothing"},
        init_from=pretrained / start["file"] if plan.init == "pretrain" else None)
    summary = run_training(job, out)
    if plan.init == "pretrain":
        start = {**start, "file": str(pretrained / start["file"])}
    write_json(out / TRAINING_FILE, {
        "target": target, "variant": variant_name, "configuration": configuration(plan),
        "differs_from_full": changes, "init": start, "inputs_sha256": summary["inputs_sha256"],
        "generator": {"file": GENERATOR_FILE, "sha256": file_digest(out / GENERATOR_FILE),
                      "mlflow_run_id": summary["mlflow_run_id"], "step": summary["step"],
                      "completed": summary["completed"]}})
    return {**summary, "differs_from_full": changes}
