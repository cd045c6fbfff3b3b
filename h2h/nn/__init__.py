"""Head2Head++ video rendering networks (paper Sec. 3.4) and their training objective.

Plain PyTorch, no pipeline dependencies. Typical use::

    models = build_models(PRESETS["cpu"])
    objective = build_objective(models, LossConfig(), vgg_weights="vgg19.pth")
    generated = render_sequence(models.generator, conditions, context=models.config.window - 1)
    terms = objective(Window(conditions[:, 2:], generated, real, mouth_centres, flows))
"""

from h2h.nn.config import (
    CPU,
    PAPER,
    PRESETS,
    Ablation,
    ModelConfig,
    Models,
    build_generator,
    build_models,
    count_parameters,
)
from h2h.nn.discriminator import DynamicsDiscriminator, MultiscaleDiscriminator, PatchDiscriminator
from h2h.nn.generator import Generator, render_sequence
from h2h.nn.losses import (
    GANObjective,
    LossConfig,
    LossTerms,
    Window,
    build_objective,
    feature_matching_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)
from h2h.nn.regions import crop_regions, make_conditions, mouth_centres, mouth_crop_size
from h2h.nn.temporal import (
    dynamics_inputs,
    min_sequence_length,
    temporal_strides,
    temporal_window_indices,
)
from h2h.nn.vgg import VGG19Features, VGGLoss, load_vgg19_features

__all__ = [
    "CPU",
    "PAPER",
    "PRESETS",
    "Ablation",
    "DynamicsDiscriminator",
    "GANObjective",
    "Generator",
    "LossConfig",
    "LossTerms",
    "ModelConfig",
    "Models",
    "MultiscaleDiscriminator",
    "PatchDiscriminator",
    "VGG19Features",
    "VGGLoss",
    "Window",
    "build_generator",
    "build_models",
    "build_objective",
    "count_parameters",
    "crop_regions",
    "dynamics_inputs",
    "feature_matching_loss",
    "load_vgg19_features",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "make_conditions",
    "min_sequence_length",
    "mouth_centres",
    "mouth_crop_size",
    "render_sequence",
    "temporal_strides",
    "temporal_window_indices",
]
