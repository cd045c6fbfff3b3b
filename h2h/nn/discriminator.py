"""pix2pixHD discriminators: the multi-scale PatchGAN used for D_I, D_M and every scale of D_D.

Every discriminator returns, per spatial scale, the outputs of all its layers: the last one is the
patch score map for the adversarial loss, the others are the features for feature matching.
"""

from __future__ import annotations

import torch
from torch import nn

from h2h.nn.layers import norm
from h2h.nn.temporal import FRAMES

#: Per spatial scale, the output of each layer of the PatchGAN, the score map last.
Features = list[list[torch.Tensor]]

_KERNEL = 4
_PADDING = 2  # ceil((kernel - 1) / 2), as in pix2pixHD
_MAX_CHANNELS = 512


class PatchDiscriminator(nn.Module):
    """PatchGAN with ``n_layers`` stride-2 convs, one stride-1 conv and a 1-channel score conv."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers = [
            nn.Sequential(
                nn.Conv2d(in_channels, ndf, _KERNEL, stride=2, padding=_PADDING),
                nn.LeakyReLU(0.2, inplace=True),
            )
        ]
        channels = ndf
        for i in range(1, n_layers + 1):
            out = min(channels * 2, _MAX_CHANNELS)
            stride = 2 if i < n_layers else 1
            layers.append(
                nn.Sequential(
                    # No bias: the instance norm right after removes per-channel constants.
                    nn.Conv2d(channels, out, _KERNEL, stride=stride, padding=_PADDING, bias=False),
                    norm(out),
                    nn.LeakyReLU(0.2, inplace=True),
                )
            )
            channels = out
        layers.append(nn.Sequential(nn.Conv2d(channels, 1, _KERNEL, stride=1, padding=_PADDING)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs


class MultiscaleDiscriminator(nn.Module):
    """``num_d`` PatchGANs of the same shape on the input downsampled 1x, 2x, 4x, ...

    The coarser scales see a larger context with the same receptive field, which is what lets a
    PatchGAN judge both texture and overall structure at 256x256.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, num_d: int = 2) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.scales = nn.ModuleList(
            PatchDiscriminator(in_channels, ndf, n_layers) for _ in range(num_d)
        )
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> Features:
        """x: (N, in_channels, H, W) -> per scale (finest first) the list of layer outputs."""
        if x.shape[1] != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {x.shape[1]}")
        results = []
        for i, scale in enumerate(self.scales):
            if i:
                x = self.downsample(x)
            results.append(scale(x))
        return results


class DynamicsDiscriminator(nn.Module):
    """D_D: one multi-scale PatchGAN per temporal scale (paper Sec. 3.4).

    Temporal scale k judges three frames taken ``factor**k`` frames apart, stacked with the two
    optical flows between the corresponding real frames: 3 * 3 + 2 * 2 = 13 input channels. The
    inputs are built by :func:`h2h.nn.temporal.dynamics_inputs`.
    """

    CHANNELS = FRAMES * 3 + (FRAMES - 1) * 2

    def __init__(
        self, temporal_scales: int = 3, ndf: int = 64, n_layers: int = 3, num_d: int = 2
    ) -> None:
        super().__init__()
        self.temporal = nn.ModuleList(
            MultiscaleDiscriminator(self.CHANNELS, ndf, n_layers, num_d)
            for _ in range(temporal_scales)
        )

    def forward(self, inputs: list[torch.Tensor]) -> list[Features]:
        """inputs: one (N_k, 13, H, W) tensor per temporal scale -> features per temporal scale."""
        if len(inputs) != len(self.temporal):
            raise ValueError(f"expected {len(self.temporal)} temporal scales, got {len(inputs)}")
        return [d(x) for d, x in zip(self.temporal, inputs)]
