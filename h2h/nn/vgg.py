"""VGG19 perceptual loss (pix2pixHD's VGGLoss) with weights from a local torchvision file.

No package here ships VGG19 weights and torchvision does not work with this torch build, so
``VGG19Features`` re-implements torchvision's ``vgg19().features`` with the same layer indices,
and :func:`load_vgg19_features` loads torchvision's state dict from a file. To make that file, on
any machine with internet access and torchvision::

    python -c "import torch, torchvision; torch.save(torchvision.models.vgg19(weights='IMAGENET1K_V1').state_dict(), 'vgg19.pth')"

(548 MB; only the ``features.*`` tensors are used, ``classifier.*`` is ignored.)
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from h2h.core.errors import H2HError

#: torchvision's configuration "E" (VGG19): output channels of each conv, "M" for max pooling.
_CONFIG: list[int | str] = [64, 64, "M", 128, 128, "M", *[256] * 4, "M", *([512] * 4 + ["M"]) * 2]
#: Indices in ``features`` of relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1.
TAPS = (1, 6, 11, 20, 29)
#: pix2pixHD's weights of the five taps: deeper features count more.
TAP_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

HOW_TO_GET = (
    "the VGG loss needs torchvision's ImageNet VGG19 weights as a local file; make it on a machine "
    "with internet access: python -c \"import torch, torchvision; torch.save(torchvision.models."
    "vgg19(weights='IMAGENET1K_V1').state_dict(), 'vgg19.pth')\", copy vgg19.pth here and give its "
    "path (or set lambda_vgg to 0 / use the no-VGG ablation to train without the VGG loss)"
)


class VGG19Features(nn.Module):
    """torchvision's ``vgg19().features`` (same module indices), returning the five ReLU taps."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in _CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU()]
                channels = int(item)
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """ImageNet-normalised RGB (N, 3, H, W) -> [relu1_1, relu2_1, relu3_1, relu4_1, relu5_1]."""
        taps = []
        for i, layer in enumerate(self.features[: TAPS[-1] + 1]):
            x = layer(x)
            if i in TAPS:
                taps.append(x)
        return taps


def load_vgg19_features(path: str | Path | None) -> VGG19Features:
    """Load torchvision's VGG19 state dict (see the module docstring) into :class:`VGG19Features`.

    Raises H2HError when no path is given, the file is missing or unreadable with
    ``torch.load(weights_only=True)``, or its ``features.*`` keys or shapes are not VGG19's.
    """
    if path is None:
        raise H2HError(f"no VGG19 weights file given: {HOW_TO_GET}")
    path = Path(path)
    if not path.is_file():
        raise H2HError(f"VGG19 weights file not found: {HOW_TO_GET}", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for non-checkpoint files
        # torch's own message suggests weights_only=False, which is not an option here.
        raise H2HError(
            f"cannot read as a PyTorch weights file with torch.load(weights_only=True) "
            f"({type(error).__name__}); it must hold a state dict saved with torch.save",
            path,
        ) from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise H2HError("not a state dict (a mapping of names to tensors)", path)
    model = VGG19Features()
    expected = {k: v.shape for k, v in model.state_dict().items()}
    given = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    wrong = [
        f"{k} {tuple(given[k].shape)} (expected {tuple(expected[k])})"
        for k in expected
        if k in given and given[k].shape != expected[k]
    ]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}")
    if unexpected:
        problems.append(
            f"unexpected {', '.join(unexpected[:4])}{' ...' if len(unexpected) > 4 else ''}"
        )
    if wrong:
        problems.append(f"wrong shapes {', '.join(wrong[:4])}{' ...' if len(wrong) > 4 else ''}")
    if problems:
        raise H2HError(
            "not a torchvision VGG19 state dict (keys features.N.weight/bias): "
            + "; ".join(problems),
            path,
        )
    model.load_state_dict(given)
    return model


class VGGLoss(nn.Module):
    """Weighted L1 distance between VGG19 features of generated and real frames (pix2pixHD).

    Inputs are RGB in [-1, 1]; they are mapped to ImageNet normalisation here. The network is
    frozen: it only shapes the gradient that reaches the generator.
    """

    def __init__(self, features: VGG19Features) -> None:
        super().__init__()
        self.vgg = features.requires_grad_(False)
        for name, values in (("mean", _IMAGENET_MEAN), ("std", _IMAGENET_STD)):
            self.register_buffer(name, torch.tensor(values).view(1, 3, 1, 1), persistent=False)

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2 - self.mean) / self.std

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """fake, real: (N, 3, H, W) in [-1, 1] -> scalar loss (gradient only through ``fake``)."""
        fake_taps = self.vgg(self._normalise(fake))
        with torch.no_grad():
            real_taps = self.vgg(self._normalise(real))
        return sum(
            w * F.l1_loss(f.float(), r.float())
            for w, f, r in zip(TAP_WEIGHTS, fake_taps, real_taps)
        )
