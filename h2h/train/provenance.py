"""What a training run reads and where its weights come from, by content.

A run's identity (:func:`h2h.train.config.resume_key`) holds the digests below, so a checkpoint is
resumed only for the same inputs: after a parameter change that rewrote a target's NMFC videos, or
a new pretraining, the run starts from step 0 instead of returning the old model. The same records
go into every checkpoint, the stage outputs and MLflow, so a model can be traced to the files and
the run it started from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from h2h.core.digests import data_digest, file_digest
from h2h.core.errors import H2HError
from h2h.train.checkpoint import latest_checkpoint, load_checkpoint
from h2h.train.data import Clip


def training_inputs(clips: Sequence[Clip], vgg_weights: str | Path | None = None
                    ) -> dict[str, Any]:
    """The content digest of every stream of every clip (frames, conditioning, mouth centres and
    landmark flags, flows), by clip name, and of the VGG19 weights file when the loss reads one.

    Digests are of the arrays as training sees them (at the model resolution, only the frames and
    streams it loads), so a change that training cannot see does not restart it.
    """
    named: dict[str, dict[str, str]] = {}
    for clip in clips:
        key, n = clip.name, 1
        while key in named:  # two clips of one name stay apart
            n += 1
            key = f"{clip.name}#{n}"
        named[key] = clip.content_digests()
    inputs: dict[str, Any] = {"clips": named}
    if isinstance(vgg_weights, (str, Path)):
        inputs["vgg19"] = file_digest(vgg_weights)
    return inputs


def inputs_digest(inputs: dict[str, Any]) -> str:
    """One digest of :func:`training_inputs` (for an MLflow parameter)."""
    return data_digest(inputs)


def weights_provenance(source: str | Path) -> dict[str, Any]:
    """The checkpoint a run starts from (``source``, or the newest in that directory): its file,
    SHA-256, and the MLflow run and step that wrote it."""
    path = latest_checkpoint(source)
    if path is None:
        raise H2HError("no checkpoint to initialise from", source)
    state = load_checkpoint(path)
    return {"file": str(path), "sha256": file_digest(path), "mlflow_run_id": state["run_id"],
            "step": int(state["step"])}
