"""Training options, and every configuration as plain data for checkpoints and MLflow.

A checkpoint stores the configuration it was trained with as JSON-able dicts (no pickled classes,
so it loads with ``torch.load(weights_only=True)``), and a run resumes only from a checkpoint whose
configuration matches the requested one. Options that change how a run is operated but not what it
computes (see :data:`OPERATIONAL`) are left out of that comparison, so a run killed by a time limit
can be restarted with a new budget, more data-loader workers or another checkpoint interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from h2h.core.errors import H2HError
from h2h.nn.config import ModelConfig, model_config_to_dict
from h2h.nn.losses import LossConfig

#: Mixed precision modes; they apply on CUDA only (CPU runs are always float32).
AMP_MODES = ("none", "bf16", "fp16")

#: TrainConfig fields that do not change the computed result, hence not compared on resume.
OPERATIONAL = (
    "checkpoint_every",
    "keep_checkpoints",
    "time_budget_s",
    "num_workers",
    "log_every",
    "sample_every",
    "preview_frames",
)


@dataclass(frozen=True)
class TrainConfig:
    """How G and the discriminators are optimised (paper 4.1: Adam, lr 2e-4, betas (0.5, 0.999));
    the ``options`` of params.yaml's ``pretrain`` and ``finetune`` sections.

    epochs: passes over the training windows (the paper trains 40).
    decay_epochs: the learning rate falls linearly to 0 over the last ``decay_epochs`` epochs
    (pix2pixHD's schedule; the paper does not state it, half of the epochs is their default).
    steps_per_epoch: optional cap on the batches of one epoch (0: all windows).
    amp: "bf16" / "fp16" autocast on CUDA ("fp16" with a gradient scaler); ignored on a CPU.
    channels_last: NHWC memory layout on CUDA (faster convolutions on tensor cores).
    checkpoint_every: steps between checkpoints (one is also written at the end and when the
    time budget runs out); keep_checkpoints: how many of the newest are kept.
    time_budget_s: stop cleanly (checkpoint + final outputs) once this much wall time has been
    spent in the current invocation (0: no limit); a later call with the same configuration
    continues from there.
    log_every: steps between metric records; sample_every: steps between sample grids (0: at
    the end of each epoch only); preview_frames: frames of the preview video rendered after
    each epoch (0: none).
    """

    epochs: int
    decay_epochs: int
    batch_size: int
    lr: float
    beta1: float
    beta2: float
    seed: int
    steps_per_epoch: int
    amp: str
    channels_last: bool
    checkpoint_every: int
    keep_checkpoints: int
    time_budget_s: float
    num_workers: int
    log_every: int
    sample_every: int
    preview_frames: int

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "checkpoint_every", "keep_checkpoints", "log_every"):
            if getattr(self, name) < 1:
                raise H2HError(f"training option {name} must be at least 1: {getattr(self, name)}")
        for name in ("steps_per_epoch", "num_workers", "sample_every", "preview_frames", "lr",
                     "time_budget_s"):
            if getattr(self, name) < 0:
                raise H2HError(f"training option {name} must not be negative: "
                               f"{getattr(self, name)}")
        if not 0 <= self.decay_epochs <= self.epochs:
            raise H2HError(f"decay_epochs must be in [0, epochs={self.epochs}]: "
                           f"{self.decay_epochs}")
        if self.amp not in AMP_MODES:
            raise H2HError(f"unknown amp mode {self.amp!r}; choose one of {', '.join(AMP_MODES)}")


def run_config(
    model: ModelConfig,
    loss: LossConfig,
    train: TrainConfig,
    data: dict[str, Any],
    init_from: str | None = None,
    world_size: int = 1,
) -> dict[str, Any]:
    """Everything that defines a training run, as JSON-able data (stored in each checkpoint).

    world_size is part of it: the global batch is batch_size x world_size, and the position in
    an epoch is counted in those batches.
    """
    return {
        "model": model_config_to_dict(model),
        "loss": asdict(loss),
        "train": asdict(train),
        "data": data,
        "init_from": init_from,
        "world_size": world_size,
    }


def resume_key(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a :func:`run_config` that must match for a checkpoint to be resumed."""
    train = {k: v for k, v in config["train"].items() if k not in OPERATIONAL}
    return {**config, "train": train}


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Human-readable ``key: old -> new`` lines for every leaf that differs between two configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines = []
        for key in sorted(set(old) | set(new), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            lines += differences(old.get(key), new.get(key), name)
        return lines
    if old != new:
        text = f"{old!r} -> {new!r}"
        if len(text) > 120:
            text = "differs"
        return [f"{prefix or '(config)'}: {text}"]
    return []
