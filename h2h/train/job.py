"""One training run as a picklable description, so that the same run can execute in this
process or in several data-parallel processes (:func:`h2h.train.distributed.launch`)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from h2h.core.tracking import MlflowTracker
from h2h.train.checkpoint import latest_checkpoint, load_checkpoint
from h2h.train.data import ClipPaths, WindowDataset, load_clips, open_clip
from h2h.train.distributed import launch
from h2h.train.loop import GENERATOR_FILE, LOSSES_CSV, train
from h2h.train.provenance import inputs_digest
from h2h.train.settings import TrainingPlan

PREVIEWS = "previews"
CHECKPOINT_FILE = "checkpoint.pt"
RESULT_FILE = "result.json"


@dataclass(frozen=True)
class TrainingJob:
    """A training run: what to train (plan), on which clips, where its state lives.

    The clips are the stage outputs of ``videos`` (loaded into memory: one target), or clips
    saved by the corpus stage (``saved_clips``, memory-mapped: a corpus does not fit in memory).
    ``work_dir`` (losses, previews, the generator) and ``checkpoint_dir`` persist between calls,
    so a killed run continues where its last checkpoint left it.
    """

    plan: TrainingPlan
    work_dir: Path
    checkpoint_dir: Path
    stage: str
    unit: str
    videos: Mapping[str, ClipPaths] = field(default_factory=dict)
    saved_clips: tuple[Path, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    init_from: Path | None = None
    root: Path = Path(".")


def run_in_process(job: TrainingJob) -> None:
    """Load the clips and train (every process of a data-parallel run calls this)."""
    model = job.plan.model
    clips = ([open_clip(directory) for directory in job.saved_clips] if job.saved_clips else
             load_clips(job.videos, model.resolution, max_frames=job.plan.max_frames,
                        eyes=not model.ablation.no_eyes, strides=model.flow_strides))
    tracker = MlflowTracker(job.stage, job.unit, tags=job.tags, root=job.root)
    dataset = WindowDataset(clips, model, job.plan.augment)
    result = train(model, dataset, job.work_dir, job.plan.options, job.plan.loss,
                   job.plan.vgg_weights, job.init_from, tracker, job.checkpoint_dir)
    if int(os.environ.get("RANK", "0")) == 0:  # the main process of a data-parallel run
        identity = load_checkpoint(result.checkpoint)["config"]  # what the run is, by content
        summary = {"step": result.step, "total_steps": result.total_steps,
                   "epoch": result.epoch, "completed": result.completed,
                   "resumed_from": result.resumed_from, "mlflow_run_id": result.run_id,
                   "iterations_per_s": result.iterations_per_s, "chunks": len(dataset),
                   "frames": sum(clip.n_frames for clip in clips), "last_losses": result.last,
                   "inputs_sha256": inputs_digest(identity["inputs"]),
                   "starting_weights": identity["init"]}
        (job.work_dir / RESULT_FILE).write_text(json.dumps(summary, indent=2))


def run_training(job: TrainingJob, out: Path, keep_checkpoint: bool = False) -> dict[str, Any]:
    """Run (or continue) ``job`` with ``plan.processes`` processes, then copy its results into
    ``out``: generator.pt, losses.csv, previews/ and, with ``keep_checkpoint``, the last
    checkpoint (what fine-tuning starts from). Returns the run's summary (steps, completed,
    speed, last losses)."""
    launch(run_in_process, job.plan.processes, job)
    out.mkdir(parents=True, exist_ok=True)
    for name in (GENERATOR_FILE, LOSSES_CSV):
        shutil.copy2(job.work_dir / name, out / name)
    if keep_checkpoint:
        checkpoint = latest_checkpoint(job.checkpoint_dir)
        assert checkpoint is not None, "training ended without a checkpoint"
        shutil.copy2(checkpoint, out / CHECKPOINT_FILE)
    (out / PREVIEWS).mkdir(exist_ok=True)  # an output even when no preview was rendered
    if (job.work_dir / PREVIEWS).is_dir():
        shutil.copytree(job.work_dir / PREVIEWS, out / PREVIEWS, dirs_exist_ok=True)
    return json.loads((job.work_dir / RESULT_FILE).read_text())
