"""What an evaluated generator is: the training record of its target and variant (the finetune
stage's training.json: resolved configuration, what it changes of the full model, its starting
weights and the generator file), kept with each evaluation so that a table of variants says what
each row removed and where its weights came from."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from h2h.core.errors import H2HError

NOTHING = "nothing"  # what the full model changes of itself


def read_training(path: str | Path) -> dict[str, Any]:
    """A finetune stage's training.json."""
    path = Path(path)
    if not path.is_file():
        raise H2HError("no training record (run the finetune stage of this target and variant)",
                       path)
    return json.loads(path.read_text())


def changes(training: Mapping[str, Any]) -> str:
    """The record's differences from the full model in one line (``nothing`` for full)."""
    return "; ".join(training["differs_from_full"]) or NOTHING


def training_params(training: Mapping[str, Any]) -> dict[str, Any]:
    """The record as MLflow parameters of an evaluation run (nested; the tracker flattens)."""
    init = training["init"]
    return {"differs_from_full": changes(training), "configuration": training["configuration"],
            "init": {key: init[key] for key in ("init", "file", "sha256", "mlflow_run_id")
                     if key in init},
            "generator": training["generator"], "inputs_sha256": training["inputs_sha256"]}


def variant_changes(evaluations: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """{variant: {"changes": ..., "starts from": ...}} of the evaluations that carry a
    training record, one row per variant (for the report)."""
    rows: dict[str, dict[str, str]] = {}
    for evaluation in evaluations:
        training = evaluation.get("training")
        if training is None:
            continue
        init = training["init"]
        start = ("scratch" if init["init"] == "scratch" else
                 f"pretraining {init['pretraining'][:12]} (step {init['step']})")
        rows[evaluation["variant"]] = {"changes": changes(training), "starts from": start}
    return rows
