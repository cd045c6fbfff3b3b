"""The pretrain stage: the video rendering network trained on a multi-person corpus (paper 4.6)
so that it renders an "average identity" that person-specific training starts from.

The corpus is the clips of the corpus stage, memory-mapped. Checkpoints live outside the stage
output (``state``) so that a killed run continues from its last one when the stage runs again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from h2h.core.config import Section
from h2h.train.config import TrainConfig
from h2h.train.job import TrainingJob, run_training
from h2h.train.settings import TrainParams, training_plan


@dataclass(frozen=True)
class PretrainParams(Section):
    """params.yaml's ``pretrain`` section: how the corpus network is optimised."""

    name: ClassVar[str] = "pretrain"

    options: TrainConfig


def pretrain(clips: Sequence[Path], train: TrainParams, params: PretrainParams, out: Path,
             state: Path = Path("checkpoints/pretrain")) -> dict[str, Any]:
    """Train (or continue) the corpus network on the saved ``clips`` and write generator.pt,
    checkpoint.pt (what fine-tuning starts from), losses.csv and previews/ into ``out``."""
    job = TrainingJob(
        plan=training_plan(train, params.options), saved_clips=tuple(clips),
        work_dir=state / "work", checkpoint_dir=state / "checkpoints", stage="pretrain",
        unit="corpus", tags={"corpus_videos": str(len(clips))})
    return run_training(job, out, keep_checkpoint=True)
