"""Training objectives of Head2Head++ (paper Eq. 6, 7) as one module a training loop calls.

LSGAN label convention used throughout: discriminators are trained towards 1 for real and 0 for
generated samples; the generator is trained to make them output 1 on its samples. (The paper's
text states the labels the other way round, a = c = 1 "for fake", b = 0 "for real"; with those the
generator term (D - 1)^2 of its Eq. 6 would reward looking fake, so we take them as the usual
LSGAN a = 0 (fake), b = 1 (real), c = 1, which is what Eq. 6 and pix2pixHD/vid2vid implement.)
Every squared term carries the LSGAN factor 1/2 and is summed over the spatial scales of a
multi-scale discriminator and over the temporal scales of D_D.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from h2h.nn.config import Ablation, Models
from h2h.nn.discriminator import Features
from h2h.nn.regions import crop_regions, mouth_crop_size
from h2h.nn.temporal import dynamics_inputs
from h2h.nn.vgg import VGGLoss, load_vgg19_features


def lsgan_generator_loss(fake: Features) -> torch.Tensor:
    """G's adversarial term for one multi-scale D: sum over scales of mean((D(fake) - 1)^2) / 2."""
    return sum(0.5 * (scale[-1].float() - 1).pow(2).mean() for scale in fake)


def lsgan_discriminator_loss(real: Features, fake: Features) -> tuple[torch.Tensor, torch.Tensor]:
    """D's terms (real, fake): scale sums of mean((D(real) - 1)^2) / 2 and mean(D(fake)^2) / 2.

    ``fake`` must come from detached generated frames so that this loss trains only D.
    """
    loss_real = sum(0.5 * (scale[-1].float() - 1).pow(2).mean() for scale in real)
    loss_fake = sum(0.5 * scale[-1].float().pow(2).mean() for scale in fake)
    return loss_real, loss_fake


def feature_matching_loss(real: Features, fake: Features, n_layers: int) -> torch.Tensor:
    """pix2pixHD feature matching: L1 between D's intermediate features of real and fake inputs.

    Each of the n_layers + 1 intermediate outputs (the score map excluded) of each spatial scale
    is weighted 4 / (n_layers + 1) * 1 / num_D, so the term's size does not depend on D's depth.
    Real features are targets (detached): this loss trains G only.
    """
    weight = 4.0 / (n_layers + 1) / len(fake)
    return sum(
        weight * F.l1_loss(f.float(), r.detach().float())
        for real_scale, fake_scale in zip(real, fake)
        for r, f in zip(real_scale[:-1], fake_scale[:-1])
    )


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Run a forward pass through ``module`` without recording gradients for its parameters.

    G's terms need gradients through the discriminators to the generated frames but not for the
    discriminators' own weights; freezing them skips that work and keeps G's loss from touching
    the discriminators' ``.grad``.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


@dataclass(frozen=True)
class LossConfig:
    """Weights and options of the objective. lambda_vgg = lambda_feat = 10 as in the paper.

    lambda_l1: weight of the mean absolute difference of generated and real frames (in the [-1, 1]
    range, as pix2pix's L1 term), which the paper does not have: a stand-in for the
    VGG term where no VGG19 weights are at hand (the CPU profiles), recorded as a departure
    (:func:`h2h.train.config.departures`).
    The "w/o VGG" ablation removes it with the VGG term, whose role it plays.
    flow_norm: optical flows (pixels) are divided by it before entering D_D.
    temporal_step: D_D samples start every temporal_step frames (1: every frame; larger values
    trade D_D coverage for speed).
    """

    lambda_vgg: float
    lambda_feat: float
    lambda_l1: float = 0.0
    flow_norm: float = 20.0
    temporal_step: int = 1

    def uses_vgg(self, ablation: Ablation) -> bool:
        """Whether the VGG loss (and so the VGG19 network and its weights file) is needed."""
        return not ablation.no_vgg and self.lambda_vgg > 0



@dataclass
class Window:
    """T consecutive frames of B videos: what the objective sees for one training step.

    conditions: (B, T, C, H, W), X_t for each frame (C = 6, or 3 without eyes).
    generated: (B, T, 3, H, W), G's frames in [-1, 1] (attached to G's graph).
    real: (B, T, 3, H, W), the ground truth frames in [-1, 1].
    mouth_centres: (B, T, 2) mouth centre (x, y) in pixels per frame; needed with D_M.
    flows: stride -> (B, T - stride, 2, H, W) optical flow between real frames t and t + stride,
    for every stride 1, factor, factor**2, ... of D_D (see :func:`h2h.nn.temporal.dynamics_inputs`);
    needed with D_D.
    """

    conditions: torch.Tensor
    generated: torch.Tensor
    real: torch.Tensor
    mouth_centres: torch.Tensor | None = None
    flows: Mapping[int, torch.Tensor] | None = None


@dataclass
class LossTerms:
    """Named scalar losses, each already weighted, with their sum under "total".

    generator: adv_image, adv_mouth, adv_dynamics, feat_image, feat_dynamics, vgg, l1 (ablated
    and unweighted terms absent). discriminator: image_real, image_fake, mouth_real, mouth_fake,
    dynamics_real, dynamics_fake (likewise). ``generator["total"]`` reaches only G's parameters and
    ``discriminator["total"]`` only the discriminators', so both can be backpropagated in any
    order after one call.
    """

    generator: dict[str, torch.Tensor]
    discriminator: dict[str, torch.Tensor]


class GANObjective(nn.Module):
    """Computes every loss term of one training step for G and the discriminators.

    A training loop renders ``generated`` with G, builds a :class:`Window` and calls this module;
    then it steps G on ``terms.generator["total"]`` and the discriminators on
    ``terms.discriminator["total"]``. The discriminators see the generated frames twice: attached
    with frozen weights for G's terms, detached for their own. Use :func:`build_objective` to
    create it with VGG weights from a file. Checkpoint the :class:`Models`, not this module: its
    state also holds the fixed VGG19 weights.
    """

    def __init__(self, models: Models, config: LossConfig, vgg: VGGLoss | None) -> None:
        super().__init__()
        ablation = models.config.ablation
        self.models = models
        self.config = config
        self.lambda_feat = 0.0 if ablation.no_feature_matching else config.lambda_feat
        self.lambda_l1 = 0.0 if ablation.no_vgg else config.lambda_l1
        use_vgg = config.uses_vgg(ablation)
        if use_vgg and vgg is None:
            raise ValueError("the VGG loss is enabled but no VGGLoss was given")
        self.vgg = vgg if use_vgg else None

    def _check(self, window: Window) -> None:
        models = self.models
        b, t, c, h, w = window.conditions.shape
        if c != models.config.ablation.condition_channels:
            raise ValueError(
                f"conditions have {c} channels per frame, the models expect "
                f"{models.config.ablation.condition_channels}"
            )
        for name in ("generated", "real"):
            shape = tuple(getattr(window, name).shape)
            if shape != (b, t, 3, h, w):
                raise ValueError(f"{name} must be {(b, t, 3, h, w)}, got {shape}")
        if models.d_mouth is not None and window.mouth_centres is None:
            raise ValueError("the mouth discriminator needs mouth_centres")
        if models.d_dynamics is not None and window.flows is None:
            raise ValueError("the dynamics discriminator needs flows")

    def _pair_terms(
        self, d: nn.Module, condition: torch.Tensor, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[Features, Features, torch.Tensor, torch.Tensor]:
        """D on (condition, real), (condition, fake) and (condition, fake detached).

        Returns the real and fake features (for G's terms) and D's real and fake losses.
        """
        pred_real = d(torch.cat([condition, real], dim=1))
        with frozen(d):
            pred_fake = d(torch.cat([condition, fake], dim=1))
        pred_fake_detached = d(torch.cat([condition, fake.detach()], dim=1))
        loss_real, loss_fake = lsgan_discriminator_loss(pred_real, pred_fake_detached)
        return pred_real, pred_fake, loss_real, loss_fake

    def forward(self, window: Window) -> LossTerms:
        self._check(window)
        models, cfg = self.models, self.models.config
        n_layers = cfg.n_layers_d
        g: dict[str, torch.Tensor] = {}
        d: dict[str, torch.Tensor] = {}
        condition = window.conditions.flatten(0, 1)
        real = window.real.flatten(0, 1)
        fake = window.generated.flatten(0, 1)

        pred_real, pred_fake, d["image_real"], d["image_fake"] = self._pair_terms(
            models.d_image, condition, real, fake
        )
        g["adv_image"] = lsgan_generator_loss(pred_fake)
        if self.lambda_feat:
            feat = feature_matching_loss(pred_real, pred_fake, n_layers)
            g["feat_image"] = self.lambda_feat * feat

        if models.d_mouth is not None:
            assert window.mouth_centres is not None
            size = mouth_crop_size(real.shape[-2])
            centres = window.mouth_centres.flatten(0, 1)
            _, pred_fake, d["mouth_real"], d["mouth_fake"] = self._pair_terms(
                models.d_mouth,
                crop_regions(condition, centres, size),
                crop_regions(real, centres, size),
                crop_regions(fake, centres, size),
            )
            g["adv_mouth"] = lsgan_generator_loss(pred_fake)

        if models.d_dynamics is not None:
            assert window.flows is not None
            args = (window.flows, cfg.temporal_scales, cfg.temporal_factor)
            opts = {"step": self.config.temporal_step, "flow_norm": self.config.flow_norm}
            real_inputs = dynamics_inputs(window.real, *args, **opts)
            fake_inputs = dynamics_inputs(window.generated, *args, **opts)
            preds_real = models.d_dynamics(real_inputs)
            with frozen(models.d_dynamics):
                preds_fake = models.d_dynamics(fake_inputs)
            preds_fake_detached = models.d_dynamics([x.detach() for x in fake_inputs])
            d_terms = [
                lsgan_discriminator_loss(r, f) for r, f in zip(preds_real, preds_fake_detached)
            ]
            d["dynamics_real"] = sum(real_term for real_term, _ in d_terms)
            d["dynamics_fake"] = sum(fake_term for _, fake_term in d_terms)
            g["adv_dynamics"] = sum(lsgan_generator_loss(f) for f in preds_fake)
            if self.lambda_feat:
                g["feat_dynamics"] = self.lambda_feat * sum(
                    feature_matching_loss(r, f, n_layers) for r, f in zip(preds_real, preds_fake)
                )

        if self.vgg is not None:
            g["vgg"] = self.config.lambda_vgg * self.vgg(fake, real)
        if self.lambda_l1:
            g["l1"] = self.lambda_l1 * F.l1_loss(fake.float(), real.float())

        g["total"] = sum(g.values())
        d["total"] = sum(d.values())
        return LossTerms(generator=g, discriminator=d)


def build_objective(
    models: Models, config: LossConfig, vgg_weights: str | Path | None = None
) -> GANObjective:
    """The objective for ``models``; loads VGG19 from ``vgg_weights`` only when the VGG loss is on.

    Raises H2HError (saying how to obtain the file) when the VGG loss is on and the file is
    missing or wrong; with lambda_vgg = 0 or the no-VGG ablation no file is needed.
    """
    use_vgg = config.uses_vgg(models.config.ablation)
    vgg = VGGLoss(load_vgg19_features(vgg_weights)) if use_vgg else None
    return GANObjective(models, config, vgg)
