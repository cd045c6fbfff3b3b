"""The pretrain stage: where a variant's person-specific training starts (paper 4.6).

The paper's ablations (Tables 1-3) are person-specific models trained from scratch; pretraining on
a multi-person corpus, so that fine-tuning starts from a network that renders an "average
identity", is its own study (Table 4). A variant that starts from scratch needs no pretraining:
its output is only ``init.json`` saying so. A variant that starts from pretraining gets a
pretraining of its *own* networks and loss (its ablation switches; never the full model's
weights, which learned with the component the variant removes), on the corpus stage's clips,
memory-mapped.

Variants that differ only in fine-tuning (``init``, ``max_frames``) have the same pretraining
configuration and share one run: its checkpoints live in ``<state>/<digest>/``, named by the
digest of what it computes, and a lock file beside that directory makes a second job of the same
configuration (Snakemake runs jobs concurrently) wait and then find the finished run instead of
training it again. A killed pretraining continues from its last checkpoint when the stage runs
again; a checkpoint of other corpus clips is set aside, not resumed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from h2h.core.config import Section
from h2h.core.digests import data_digest, file_digest
from h2h.core.errors import H2HError
from h2h.core.locks import exclusive
from h2h.core.outputs import write_json
from h2h.train.config import TrainConfig, resume_key, run_config
from h2h.train.job import CHECKPOINT_FILE, TrainingJob, run_training
from h2h.train.settings import TrainingPlan, TrainParams, Variant, configuration, training_plan

#: The stage output that says where fine-tuning starts (and, from pretraining, which weights).
INIT_FILE = "init.json"


@dataclass(frozen=True)
class PretrainParams(Section):
    """params.yaml's ``pretrain`` section: how the corpus networks are optimised."""

    name: ClassVar[str] = "pretrain"

    options: TrainConfig


def pretrain_plan(train: TrainParams, params: PretrainParams, variant: Variant) -> TrainingPlan:
    """The corpus pretraining of ``variant``'s networks and loss (from scratch, every frame)."""
    return training_plan(train, params.options, variant.pretraining())


def pretraining_key(plan: TrainingPlan) -> str:
    """The digest of what a pretraining computes: networks, loss, optimisation and processes
    (not its operational options, nor its inputs, which the run checks on resume)."""
    return data_digest(resume_key(run_config(plan.model, plan.loss, plan.options, {},
                                             plan.processes)))


def pretrain(init: str, clips: Sequence[Path], plan: TrainingPlan, out: Path,
             state: Path = Path("checkpoints/pretrain")) -> dict[str, Any]:
    """Write ``out/init.json``: ``{"init": "scratch"}`` for a variant that starts from scratch;
    otherwise train (or continue, or find finished) the pretraining ``plan`` on the saved
    corpus ``clips`` and write generator.pt, checkpoint.pt (what fine-tuning starts from),
    losses.csv and previews/ too, with init.json naming the checkpoint's SHA-256 and run.
    Returns the fields for the stage's manifest."""
    if init == "scratch":
        write_json(out / INIT_FILE, {"init": "scratch"})
        return {"init": "scratch"}
    if not clips:
        raise H2HError("this variant starts from pretraining but the corpus is empty: register "
                       "videos (h2h add-videos FOLDER --role corpus) or train it from scratch "
                       "(init: scratch)", "params.yaml")
    key = pretraining_key(plan)
    directory = state / key[:16]
    job = TrainingJob(
        plan=plan, saved_clips=tuple(clips), work_dir=directory / "work",
        checkpoint_dir=directory / "checkpoints", stage="pretrain",
        unit=f"{plan.model.ablation.label}-{key[:8]}",
        tags={"corpus_videos": str(len(clips)), "ablation": plan.model.ablation.label,
              "pretraining": key})
    with exclusive(directory.with_name(directory.name + ".lock")):
        summary = run_training(job, out, keep_checkpoint=True)
    start = {"init": "pretrain", "file": CHECKPOINT_FILE,
             "sha256": file_digest(out / CHECKPOINT_FILE),
             "mlflow_run_id": summary["mlflow_run_id"], "step": summary["step"],
             "completed": summary["completed"], "pretraining": key, "state": str(directory),
             "configuration": configuration(plan)}
    write_json(out / INIT_FILE, start)
    return {**summary, "init": "pretrain", "pretraining": key}


def starting_point(pretrained: Path, plan: TrainingPlan) -> dict[str, Any]:
    """The ``init.json`` of a pretrain stage output, checked against the fine-tuning ``plan``
    (the same ``init``) and, from pretraining, against its checkpoint's content."""
    path = pretrained / INIT_FILE
    if not path.is_file():
        raise H2HError(f"no pretrain output here (missing {INIT_FILE}): run the pretrain stage "
                       "of this variant first", pretrained)
    start = json.loads(path.read_text())
    if start["init"] != plan.init:
        raise H2HError(f"made for a start from {start['init']}, this variant starts from "
                       f"{plan.init}: run the pretrain stage of this variant again", pretrained)
    if plan.init == "pretrain" and file_digest(pretrained / start["file"]) != start["sha256"]:
        raise H2HError(f"{start['file']} is not the checkpoint {INIT_FILE} names (another "
                       "SHA-256): run the pretrain stage of this variant again", pretrained)
    return start
