"""Discriminators, configuration, presets and the model factory."""

import dataclasses

import pytest
import torch

from h2h.core.errors import H2HError
from h2h.nn.config import Ablation, build_models, count_parameters
from h2h.nn.discriminator import DynamicsDiscriminator, MultiscaleDiscriminator
from tests.support.params import profile

PAPER = profile("paper")
CPU = profile("cpu")
TINY = profile("tiny", ngf=8, ndf=8, temporal_scales=2)


def test_multiscale_patch_discriminator_returns_every_layer_at_every_scale():
    d = MultiscaleDiscriminator(9, ndf=8, n_layers=3, num_d=2)
    out = d(torch.randn(2, 9, 64, 64))
    assert len(out) == 2
    assert all(len(scale) == 5 for scale in out)  # n_layers + 2 layers
    assert [f.shape[1] for f in out[0]] == [8, 16, 32, 64, 1]
    # Three stride-2 convs, then two stride-1 4x4 convs with padding 2 (+1 pixel each).
    assert [f.shape[-1] for f in out[0]] == [33, 17, 9, 10, 11]
    assert [f.shape[-1] for f in out[1]] == [17, 9, 5, 6, 7]  # input averaged down to 32x32
    with pytest.raises(ValueError, match="9 input channels"):
        d(torch.randn(1, 6, 64, 64))


def test_discriminator_layers_use_instance_norm_and_leaky_relu():
    d = MultiscaleDiscriminator(9, ndf=8)
    kinds = {type(m).__name__ for m in d.modules()}
    assert {"InstanceNorm2d", "LeakyReLU"} <= kinds and "BatchNorm2d" not in kinds
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, torch.nn.LeakyReLU))


def test_dynamics_discriminator_has_one_multiscale_patchgan_per_temporal_scale():
    d = DynamicsDiscriminator(temporal_scales=3, ndf=8)
    assert len(d.temporal) == 3
    assert all(m.scales[0].layers[0][0].in_channels == 13 for m in d.temporal)
    out = d([torch.randn(n, 13, 32, 32) for n in (3, 2, 1)])
    assert [scale[0][-1].shape[0] for scale in out] == [3, 2, 1]
    with pytest.raises(ValueError, match="3 temporal scales"):
        d([torch.randn(1, 13, 32, 32)])


def test_full_model_has_every_network_with_the_paper_input_channels():
    m = build_models(TINY)
    assert m.generator.condition_encoder[1].in_channels == 18
    assert m.generator.previous_encoder is not None
    assert m.d_image.in_channels == 9 and m.d_mouth.in_channels == 9
    assert len(m.d_dynamics.temporal) == 2
    n_d = sum(count_parameters(d) for d in (m.d_image, m.d_mouth, m.d_dynamics))
    assert sum(p.numel() for p in m.discriminator_parameters()) == n_d


@pytest.mark.parametrize(
    "switch, check",
    [
        ("no_eyes", lambda m: m.generator.condition_encoder[1].in_channels == 9
         and m.d_image.in_channels == 6 and m.d_mouth.in_channels == 6),
        ("no_sequential_g", lambda m: m.generator.previous_encoder is None),
        ("no_dynamics_d", lambda m: m.d_dynamics is None),
        ("no_mouth_d", lambda m: m.d_mouth is None),
    ],
)
def test_ablations_remove_parts_of_the_models(switch, check):
    config = dataclasses.replace(TINY, ablation=Ablation(**{switch: True}))
    m = build_models(config)
    assert check(m)
    assert count_parameters(m) < count_parameters(build_models(TINY))


def test_ablation_labels_and_condition_channels():
    assert Ablation().label == "full"
    assert Ablation(no_vgg=True, no_eyes=True).label == "no_vgg+no_eyes"
    assert Ablation().condition_channels == 6 and Ablation(no_eyes=True).condition_channels == 3


def test_min_sequence_length_covers_the_coarsest_temporal_scale():
    assert PAPER.min_sequence_length == 9  # frames 0, 4, 8 at stride 2**2
    assert dataclasses.replace(PAPER, temporal_factor=3).min_sequence_length == 19
    assert TINY.min_sequence_length == 5
    without_dd = dataclasses.replace(PAPER, ablation=Ablation(no_dynamics_d=True))
    assert without_dd.min_sequence_length == 1


def test_the_paper_profile_has_the_papers_sizes():
    assert (PAPER.resolution, PAPER.ngf, PAPER.n_blocks, PAPER.ndf) == (256, 64, 9, 64)
    assert (PAPER.num_d, PAPER.n_layers_d) == (2, 3)
    assert (PAPER.temporal_scales, PAPER.temporal_factor) == (3, 2)
    assert (CPU.resolution, CPU.ngf, CPU.ndf) == (128, 16, 16) and CPU.n_blocks < PAPER.n_blocks


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"resolution": 100}, "multiple of 8"),
        ({"ngf": 0}, "ngf"),
        ({"temporal_factor": 1}, "factor"),
    ],
)
def test_bad_configurations_are_rejected(kwargs, message):
    with pytest.raises(H2HError, match=message):
        dataclasses.replace(PAPER, **kwargs)


def test_weights_are_initialised_as_in_pix2pixhd():
    torch.manual_seed(0)
    m = build_models(TINY)
    convs = [c for c in m.modules() if isinstance(c, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    w = torch.cat([c.weight.flatten() for c in convs])
    assert abs(w.std().item() - 0.02) < 0.002
    assert all((c.bias == 0).all() for c in convs if c.bias is not None)


def test_state_dict_round_trip():
    a, b = build_models(TINY), build_models(TINY)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 6, 64, 64)
    with torch.no_grad():
        assert torch.equal(a.generator(x), b.generator(x))
