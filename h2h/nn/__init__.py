"""Head2Head++ video rendering networks (paper Sec. 3.4) and their training objective.

Plain PyTorch, no pipeline dependencies.
"""

from h2h.nn.config import (
    CPU,
    PAPER,
    PRESETS,
    Ablation,
    ModelConfig,
    Models,
    build_models,
    count_parameters,
)
from h2h.nn.discriminator import DynamicsDiscriminator, MultiscaleDiscriminator, PatchDiscriminator
from h2h.nn.generator import Generator, render_sequence
from h2h.nn.regions import crop_regions, make_conditions, mouth_centres, mouth_crop_size
from h2h.nn.temporal import (
    dynamics_inputs,
    min_sequence_length,
    temporal_strides,
    temporal_window_indices,
)

__all__ = [
    "CPU",
    "PAPER",
    "PRESETS",
    "Ablation",
    "DynamicsDiscriminator",
    "Generator",
    "ModelConfig",
    "Models",
    "MultiscaleDiscriminator",
    "PatchDiscriminator",
    "build_models",
    "count_parameters",
    "crop_regions",
    "dynamics_inputs",
    "make_conditions",
    "min_sequence_length",
    "mouth_centres",
    "mouth_crop_size",
    "render_sequence",
    "temporal_strides",
    "temporal_window_indices",
]
