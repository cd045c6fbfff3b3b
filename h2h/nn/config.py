"""Typed configuration of the video rendering networks, the paper's ablations and the factory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from torch import nn

from h2h.core.errors import H2HError
from h2h.nn.discriminator import DynamicsDiscriminator, MultiscaleDiscriminator
from h2h.nn.generator import DOWNSAMPLING, RGB, Generator
from h2h.nn.layers import init_weights
from h2h.nn.temporal import min_sequence_length, temporal_strides

#: Channels of one conditional frame: NMFC (3) + eye sketch (3), or NMFC alone without eyes.
NMFC_CHANNELS = 3
EYES_CHANNELS = 3


@dataclass(frozen=True)
class Ablation:
    """The paper's ablations (Sec. 4.4, Tables 1-3); all False is the full model.

    Each switch removes a part of the graph rather than zeroing a weight: no VGG network is built
    without the VGG loss, no second encoder without the sequential generator, no D_D / D_M
    module and no loss terms without them, and 3 instead of 6 condition channels per frame
    without the eyes input.
    """

    no_feature_matching: bool = False
    no_vgg: bool = False
    no_sequential_g: bool = False
    no_dynamics_d: bool = False
    no_mouth_d: bool = False
    no_eyes: bool = False

    @property
    def condition_channels(self) -> int:
        """Channels of one conditional frame X_t."""
        return NMFC_CHANNELS + (0 if self.no_eyes else EYES_CHANNELS)

    @property
    def label(self) -> str:
        """Short run label: "full", or the active switches joined by "+" (for run names, tags)."""
        active = [f.name for f in fields(self) if getattr(self, f.name)]
        return "+".join(active) if active else "full"


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of G and the discriminators (params.yaml's ``train.profiles`` name the sets used:
    the paper's is resolution 256, ngf 64, 9 residual blocks, ndf 64, 2 scales of 3 layers).

    window: conditional frames G reads per output frame (X_{t-2..t}: 3).
    temporal_scales / temporal_factor: D_D scale k sees frames temporal_factor**k apart.
    """

    resolution: int
    ngf: int
    n_blocks: int
    ndf: int
    num_d: int
    n_layers_d: int
    temporal_scales: int = 3
    temporal_factor: int = 2
    window: int = 3
    ablation: Ablation = field(default_factory=Ablation)

    def __post_init__(self) -> None:
        step = 2**DOWNSAMPLING
        if self.resolution <= 0 or self.resolution % step:
            raise H2HError(f"resolution must be a positive multiple of {step}: {self.resolution}")
        for name in ("ngf", "ndf", "num_d", "n_layers_d", "temporal_scales", "window"):
            if getattr(self, name) < 1:
                raise H2HError(f"{name} must be positive: {getattr(self, name)}")
        if self.n_blocks < 0:
            raise H2HError(f"n_blocks must not be negative: {self.n_blocks}")
        if self.temporal_factor < 2:
            raise H2HError(f"temporal_factor must be >= 2: {self.temporal_factor}")
        if not self.ablation.no_sequential_g and self.window < 2:
            raise H2HError("a sequential generator needs window >= 2")

    @property
    def min_sequence_length(self) -> int:
        """Frames a training window needs so that every temporal scale of D_D gets a sample."""
        if self.ablation.no_dynamics_d:
            return 1
        return min_sequence_length(self.temporal_scales, self.temporal_factor)

    @property
    def flow_strides(self) -> list[int]:
        """Strides of the real-frame optical flows D_D sees, one per temporal scale (none
        without D_D): what the training data must hold."""
        if self.ablation.no_dynamics_d:
            return []
        return temporal_strides(self.temporal_scales, self.temporal_factor)


def model_config_to_dict(config: ModelConfig) -> dict[str, Any]:
    """A ModelConfig as plain data (the ablation as a nested dict)."""
    return asdict(config)


def model_config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Inverse of :func:`model_config_to_dict`; unknown keys are an error, missing ones default."""
    data = dict(data)
    ablation = dict(data.pop("ablation", {}))
    _check_keys(ModelConfig, data, "model")
    _check_keys(Ablation, ablation, "model.ablation")
    return ModelConfig(**data, ablation=Ablation(**ablation))


def _check_keys(cls: type, data: dict[str, Any], what: str) -> None:
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise H2HError(f"unknown {what} options: {', '.join(sorted(unknown))}")


class Models(nn.Module):
    """G and the discriminators of one configuration; absent (ablated) discriminators are None.

    One module so that ``.to(device)``, ``.state_dict()`` and ``.load_state_dict()`` cover the
    whole GAN; optimisers take :attr:`generator` parameters and :meth:`discriminator_parameters`.
    """

    def __init__(
        self,
        config: ModelConfig,
        generator: Generator,
        d_image: MultiscaleDiscriminator,
        d_mouth: MultiscaleDiscriminator | None,
        d_dynamics: DynamicsDiscriminator | None,
    ) -> None:
        super().__init__()
        self.config = config
        self.generator = generator
        self.d_image = d_image
        self.d_mouth = d_mouth
        self.d_dynamics = d_dynamics

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of every discriminator present (one optimiser can take them all)."""
        for d in (self.d_image, self.d_mouth, self.d_dynamics):
            if d is not None:
                yield from d.parameters()


def build_generator(config: ModelConfig) -> Generator:
    """G alone for ``config``, pix2pixHD-initialised: what reenactment loads trained weights into."""
    generator = Generator(
        condition_channels=config.ablation.condition_channels,
        window=config.window,
        ngf=config.ngf,
        n_blocks=config.n_blocks,
        sequential=not config.ablation.no_sequential_g,
    )
    generator.apply(init_weights)
    return generator


def build_models(config: ModelConfig) -> Models:
    """Build G, D_I, D_M and D_D for ``config`` (ablated parts left out), pix2pixHD-initialised."""
    ablation = config.ablation
    generator = build_generator(config)
    pair_channels = ablation.condition_channels + RGB

    def multiscale() -> MultiscaleDiscriminator:
        return MultiscaleDiscriminator(pair_channels, config.ndf, config.n_layers_d, config.num_d)

    models = Models(
        config,
        generator,
        d_image=multiscale(),
        d_mouth=None if ablation.no_mouth_d else multiscale(),
        d_dynamics=None
        if ablation.no_dynamics_d
        else DynamicsDiscriminator(
            config.temporal_scales, config.ndf, config.n_layers_d, config.num_d
        ),
    )
    for discriminator in (models.d_image, models.d_mouth, models.d_dynamics):
        if discriminator is not None:
            discriminator.apply(init_weights)
    return models


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())
