"""VGG19 features from a torchvision-format state dict, and the perceptual loss."""

import pytest
import torch

from h2h.core.errors import H2HError
from h2h.nn.vgg import VGG19Features, VGGLoss, load_vgg19_features

# torchvision.models.vgg19().features: conv layer index -> (out, in) channels.
TORCHVISION_CONVS = {
    0: (64, 3), 2: (64, 64), 5: (128, 64), 7: (128, 128), 10: (256, 128), 12: (256, 256),
    14: (256, 256), 16: (256, 256), 19: (512, 256), 21: (512, 512), 23: (512, 512),
    25: (512, 512), 28: (512, 512), 30: (512, 512), 32: (512, 512), 34: (512, 512),
}


def torchvision_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict with torchvision vgg19's keys (classifier shrunk: it is ignored)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for i, (out, inp) in TORCHVISION_CONVS.items():
        state[f"features.{i}.weight"] = torch.randn(out, inp, 3, 3, generator=gen) * 0.05
        state[f"features.{i}.bias"] = torch.randn(out, generator=gen) * 0.05
    state["classifier.0.weight"] = torch.zeros(4, 4)
    state["classifier.6.bias"] = torch.zeros(4)
    return state


def test_state_dict_round_trip(tmp_path):
    path = tmp_path / "vgg19.pth"
    state = torchvision_state_dict()
    torch.save(state, path)
    vgg = load_vgg19_features(path)
    for key, value in vgg.state_dict().items():
        assert torch.equal(value, state[key])
    # relu1_1 is layer 1: ReLU of the first conv.
    x = torch.randn(1, 3, 64, 64)
    taps = vgg(x)
    conv = torch.conv2d(x, state["features.0.weight"], state["features.0.bias"], padding=1)
    expected = torch.relu(conv)
    assert torch.allclose(taps[0], expected, atol=1e-5)
    assert [tuple(t.shape[1:]) for t in taps] == [
        (64, 64, 64), (128, 32, 32), (256, 16, 16), (512, 8, 8), (512, 4, 4)
    ]


def test_no_file_explains_how_to_get_the_weights(tmp_path):
    with pytest.raises(H2HError, match="torchvision.models.vgg19"):
        load_vgg19_features(None)
    missing = tmp_path / "nope.pth"
    with pytest.raises(H2HError) as error:
        load_vgg19_features(missing)
    assert str(error.value).startswith(f"{missing}: VGG19 weights file not found")
    assert "IMAGENET1K_V1" in str(error.value)


def test_unreadable_file_fails_clearly(tmp_path):
    path = tmp_path / "vgg19.pth"
    path.write_text("not a checkpoint")
    with pytest.raises(H2HError, match=r"vgg19.pth: cannot read as a PyTorch weights file"):
        load_vgg19_features(path)
    torch.save([torch.zeros(1)], path)
    with pytest.raises(H2HError, match="not a state dict"):
        load_vgg19_features(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.pop("features.34.weight"), "missing features.34.weight"),
        (
            lambda s: s.update({"features.1.running_mean": torch.zeros(64)}),
            "unexpected features.1.running_mean",
        ),
        (
            lambda s: s.update({"features.0.weight": torch.zeros(64, 1, 3, 3)}),
            r"wrong shapes features.0.weight \(64, 1, 3, 3\)",
        ),
    ],
)
def test_wrong_state_dict_names_the_problem(tmp_path, edit, message):
    state = torchvision_state_dict()
    edit(state)
    path = tmp_path / "other.pth"
    torch.save(state, path)
    with pytest.raises(H2HError, match=f"other.pth: not a torchvision VGG19 state dict.*{message}"):
        load_vgg19_features(path)


def test_vgg16_file_is_rejected(tmp_path):
    # VGG16 has 13 convs at different indices (0, 2, 5, 7, 10, 12, 14, 17, ...).
    state = {}
    for i in (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28):
        state[f"features.{i}.weight"] = torch.zeros(1)
        state[f"features.{i}.bias"] = torch.zeros(1)
    path = tmp_path / "vgg16.pth"
    torch.save(state, path)
    with pytest.raises(H2HError, match="missing .*unexpected features.17"):
        load_vgg19_features(path)


def test_vgg_loss_weights_taps_and_normalises_inputs():
    torch.manual_seed(0)
    features = VGG19Features()
    loss = VGGLoss(features)
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    fake = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_()
    assert loss(real, real).item() == 0
    value = loss(fake, real)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    norm = lambda x: ((x + 1) / 2 - mean) / std  # noqa: E731
    weights = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1]
    pairs = zip(weights, features(norm(fake)), features(norm(real)))
    expected = sum(w * (a - b).abs().mean() for w, a, b in pairs)
    assert torch.allclose(value, expected)
    value.backward()
    assert fake.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.parameters())
