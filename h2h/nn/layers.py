"""Building blocks shared by the generator and the discriminators (pix2pixHD style)."""

from __future__ import annotations

import torch
from torch import nn


def norm(channels: int) -> nn.InstanceNorm2d:
    """Instance norm without affine parameters or running statistics, as in pix2pixHD.

    Without running statistics the layer behaves the same in train and eval mode, so a rendered
    frame does not depend on whether the generator was left in training mode.
    """
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def conv_norm_relu(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, reflect: int = 0
) -> list[nn.Module]:
    """Convolution -> instance norm -> ReLU, with optional reflection padding in front.

    The convolution has no bias: the instance norm that follows subtracts any per-channel constant,
    so a bias would be a parameter that never learns anything.
    """
    layers: list[nn.Module] = [nn.ReflectionPad2d(reflect)] if reflect else []
    padding = 0 if reflect else kernel_size // 2
    layers += [
        nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False
        ),
        norm(out_channels),
        nn.ReLU(inplace=True),
    ]
    return layers


class ResnetBlock(nn.Module):
    """Two reflection-padded 3x3 convolutions with instance norm and an identity shortcut."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *conv_norm_relu(channels, channels, 3, reflect=1),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def init_weights(module: nn.Module) -> None:
    """pix2pixHD initialisation: convolution weights ~ N(0, 0.02), biases 0.

    Use with ``model.apply(init_weights)``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
