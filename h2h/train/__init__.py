"""Training of the video rendering network: data, loop, checkpoints, data parallelism, benchmark.

Usable without DVC or MLflow. Typical finetuning of one target::

    config = PRESETS["cpu"]
    clips = [load_clip(ClipPaths.under("data", "obama"), config.resolution)]
    result = train(config, WindowDataset(clips, config), "data/finetune/obama",
                   TrainConfig(epochs=10, decay_epochs=5), vgg_weights="vgg19.pth",
                   tracker=MlflowTracker("finetune", "obama"))
    generator, config = load_generator(result.generator)

Pretraining on a corpus uses ``load_clips(..., cache_dir=...)`` (memory-mapped clips); several
processes use :func:`launch` or ``torchrun``.
"""

from h2h.train.bench import benchmark
from h2h.train.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    load_generator,
    save_generator,
)
from h2h.train.config import TrainConfig, model_config_from_dict, model_config_to_dict
from h2h.train.data import (
    Clip,
    ClipPaths,
    WindowDataset,
    load_clip,
    load_clips,
    open_clip,
    save_clip,
    to_model_range,
    to_uint8,
)
from h2h.train.distributed import launch, process_group
from h2h.train.loop import TrainResult, train
from h2h.train.synthetic import synthetic_clip
from h2h.train.visuals import render_clip

__all__ = [
    "Clip",
    "ClipPaths",
    "TrainConfig",
    "TrainResult",
    "WindowDataset",
    "benchmark",
    "latest_checkpoint",
    "launch",
    "load_checkpoint",
    "load_clip",
    "load_clips",
    "load_generator",
    "model_config_from_dict",
    "model_config_to_dict",
    "open_clip",
    "process_group",
    "render_clip",
    "save_clip",
    "save_generator",
    "synthetic_clip",
    "to_model_range",
    "to_uint8",
    "train",
]
