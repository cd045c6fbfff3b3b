"""Loss terms of the GAN objective, gradient routing and the ablation switches."""

import dataclasses

import pytest
import torch

from h2h.core.errors import H2HError
from h2h.nn.config import Ablation, ModelConfig, build_models
from h2h.nn.generator import render_sequence
from h2h.nn.losses import (
    GANObjective,
    Window,
    build_objective,
    feature_matching_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)
from h2h.nn.vgg import VGG19Features, VGGLoss
from tests.support.params import loss
from tests.support.training import TINY

FULL_G = {"adv_image", "adv_mouth", "adv_dynamics", "feat_image", "feat_dynamics", "vgg", "l1",
          "total"}
FULL_D = {
    "image_real", "image_fake", "mouth_real", "mouth_fake", "dynamics_real", "dynamics_fake",
    "total",
}


def setup(ablation: Ablation = Ablation(), config: ModelConfig = TINY, seed: int = 0):
    """Models, objective (random VGG, an L1 term) and a window of 5 frames (2 temporal scales)
    rendered by G."""
    torch.manual_seed(seed)
    config = dataclasses.replace(config, ablation=ablation)
    models = build_models(config)
    objective = GANObjective(models, loss(lambda_vgg=10.0, lambda_l1=5.0),
                             VGGLoss(VGG19Features()))
    b, t, s, c = 2, 5, config.resolution, ablation.condition_channels
    conditions = torch.rand(b, t + 2, c, s, s) * 2 - 1
    window = Window(
        conditions=conditions[:, 2:],
        generated=render_sequence(models.generator, conditions, context=2),
        real=torch.rand(b, t, 3, s, s) * 2 - 1,
        mouth_centres=torch.tensor([12.0, 20.0]).expand(b, t, 2),
        flows={k: torch.randn(b, t - k, 2, s, s) for k in (1, 2)},
    )
    return models, objective, window


def constant_features(value: float, n_scales: int = 2, n_layers: int = 3):
    return [[torch.full((1, 4, 3, 3), value) for _ in range(n_layers + 2)] for _ in range(n_scales)]


def test_lsgan_terms_follow_the_stated_label_convention():
    # G wants D(fake) = 1: 1/2 (0.2 - 1)^2 per spatial scale, summed over 2 scales.
    assert lsgan_generator_loss(constant_features(0.2)).item() == pytest.approx(0.64)
    assert lsgan_generator_loss(constant_features(1.0)).item() == 0
    real, fake = lsgan_discriminator_loss(constant_features(1.0), constant_features(0.0))
    assert real.item() == 0 and fake.item() == 0  # D: real -> 1, fake -> 0
    real, fake = lsgan_discriminator_loss(constant_features(0.0), constant_features(1.0))
    assert real.item() == pytest.approx(1.0) and fake.item() == pytest.approx(1.0)


def test_feature_matching_uses_intermediate_layers_with_pix2pixhd_weights():
    real, fake = constant_features(0.0), constant_features(1.0)
    fake[0][-1] = fake[1][-1] = torch.full((1, 1, 3, 3), 100.0)  # score maps do not count
    # 2 scales x 4 layers x |1 - 0| x 4 / (3 + 1) / 2
    assert feature_matching_loss(real, fake, n_layers=3).item() == pytest.approx(4.0)


@torch.no_grad()
def test_full_objective_terms_and_totals():
    _, objective, window = setup()
    terms = objective(window)
    assert set(terms.generator) == FULL_G and set(terms.discriminator) == FULL_D
    for group in (terms.generator, terms.discriminator):
        parts = sum(v for k, v in group.items() if k != "total")
        assert torch.allclose(group["total"], parts)
        assert all(v.ndim == 0 and torch.isfinite(v) and v >= 0 for v in group.values())


@torch.no_grad()
def test_reconstruction_terms_vanish_when_generated_equals_real():
    _, objective, window = setup()
    window.generated = window.real
    g = objective(window).generator
    assert g["vgg"].item() == 0 and g["feat_image"].item() == 0 and g["feat_dynamics"].item() == 0
    assert g["l1"].item() == 0


@torch.no_grad()
def test_the_l1_term_is_its_weight_times_the_mean_absolute_difference():
    _, objective, window = setup()
    window.generated = window.real + torch.linspace(-0.3, 0.3, 5)[None, :, None, None, None]
    expected = 5.0 * (0.3 + 0.15 + 0 + 0.15 + 0.3) / 5
    assert objective(window).generator["l1"].item() == pytest.approx(expected, rel=1e-5)


def test_generator_loss_reaches_every_g_parameter_and_no_d_parameter():
    models, objective, window = setup()
    objective(window).generator["total"].backward()
    for name, p in models.generator.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in models.discriminator_parameters())
    assert all(p.requires_grad for p in models.discriminator_parameters())  # unfrozen after use


def test_discriminator_loss_reaches_every_d_parameter_and_no_g_parameter():
    models, objective, window = setup()
    objective(window).discriminator["total"].backward()
    for name, p in models.named_parameters():
        if name.startswith("generator."):
            assert p.grad is None, name
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    "switch, gone_g, gone_d",
    [
        ("no_feature_matching", {"feat_image", "feat_dynamics"}, set()),
        ("no_vgg", {"vgg", "l1"}, set()),  # the L1 term stands in for the VGG term
        ("no_dynamics_d", {"adv_dynamics", "feat_dynamics"}, {"dynamics_real", "dynamics_fake"}),
        ("no_mouth_d", {"adv_mouth"}, {"mouth_real", "mouth_fake"}),
        ("no_sequential_g", set(), set()),
        ("no_eyes", set(), set()),
    ],
)
def test_each_ablation_removes_its_terms(switch, gone_g, gone_d):
    models, objective, window = setup(Ablation(**{switch: True}))
    terms = objective(window)
    assert set(terms.generator) == FULL_G - gone_g
    assert set(terms.discriminator) == FULL_D - gone_d
    assert (objective.vgg is None) == (switch == "no_vgg")
    terms.generator["total"].backward()
    assert all(p.grad is not None for p in models.generator.parameters())


@torch.no_grad()
def test_ablated_discriminators_need_no_inputs_and_wrong_conditions_are_rejected():
    _, objective, window = setup(Ablation(no_dynamics_d=True, no_mouth_d=True))
    window.flows = window.mouth_centres = None
    assert "adv_image" in objective(window).generator
    _, objective, window = setup()
    window.flows = None
    with pytest.raises(ValueError, match="needs flows"):
        objective(window)
    _, objective, window = setup(Ablation(no_eyes=True))
    window.conditions = torch.cat([window.conditions] * 2, dim=2)
    with pytest.raises(ValueError, match="6 channels per frame, the models expect 3"):
        objective(window)


@torch.no_grad()
def test_mouth_terms_see_only_the_mouth_region():
    _, objective, window = setup()
    base = objective(window)
    far, near = window.generated.detach().clone(), window.generated.detach().clone()
    far[..., 0:4, 24:32] = 1  # 36 * 32 / 256 = 4.5 -> 4 px box at (10..14, 18..22): far away
    near[..., 19:21, 11:13] = 1  # inside the box around (x=12, y=20)
    window.generated = far
    assert torch.allclose(objective(window).generator["adv_mouth"], base.generator["adv_mouth"])
    assert not torch.allclose(objective(window).generator["adv_image"], base.generator["adv_image"])
    window.generated = near
    assert not torch.allclose(objective(window).generator["adv_mouth"], base.generator["adv_mouth"])


@torch.no_grad()
def test_dynamics_terms_depend_on_the_real_flows():
    _, objective, window = setup()
    before = objective(window)
    window.flows = {k: f + 5 for k, f in window.flows.items()}
    after = objective(window)
    changed = after.discriminator["dynamics_real"], before.discriminator["dynamics_real"]
    assert not torch.allclose(*changed)
    assert torch.allclose(after.discriminator["image_real"], before.discriminator["image_real"])


def test_build_objective_needs_vgg_weights_only_when_the_vgg_loss_is_on(tmp_path):
    models = build_models(TINY)
    with pytest.raises(H2HError, match="VGG19"):
        build_objective(models, loss(lambda_vgg=10.0))
    assert build_objective(models, loss(lambda_vgg=0)).vgg is None
    no_vgg = build_models(dataclasses.replace(TINY, ablation=Ablation(no_vgg=True)))
    assert build_objective(no_vgg, loss(lambda_vgg=10.0)).vgg is None
    path = tmp_path / "vgg19.pth"
    torch.save(VGG19Features().state_dict(), path)
    assert build_objective(models, loss(lambda_vgg=10.0), vgg_weights=path).vgg is not None


def test_objective_runs_under_autocast_and_channels_last():
    models, objective, window = setup()
    models.to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        window.generated = render_sequence(
            models.generator, torch.cat([window.conditions[:, :2], window.conditions], 1), context=2
        )
        terms = objective(window)
    for group in (terms.generator, terms.discriminator):
        assert group["total"].dtype == torch.float32 and torch.isfinite(group["total"])
    terms.generator["total"].backward()
    terms.discriminator["total"].backward()
    assert all(torch.isfinite(p.grad).all() for p in models.parameters() if p.grad is not None)
