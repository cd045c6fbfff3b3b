"""The sequential video rendering generator G of Head2Head++ (paper Eq. 5).

Frame t is rendered from the conditional frames X_{t-2..t} (NMFC + eye sketch) and the two frames
G itself produced before, Y~_{t-2..t-1}. Two encoders of the same shape read the two inputs, their
feature maps are added, and one decoder turns the sum into an RGB frame in [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from h2h.nn.layers import ResnetBlock, conv_norm_relu, norm

#: Stride-2 stages of each encoder (and transposed convolutions of the decoder): frame sides must
#: be multiples of 2**DOWNSAMPLING.
DOWNSAMPLING = 3
RGB = 3


def _encoder(in_channels: int, ngf: int, n_blocks: int) -> nn.Sequential:
    """7x7 conv to ngf channels, three stride-2 3x3 convs up to 8 ngf, then residual blocks."""
    layers = conv_norm_relu(in_channels, ngf, 7, reflect=3)
    for i in range(DOWNSAMPLING):
        layers += conv_norm_relu(ngf * 2**i, ngf * 2 ** (i + 1), 3, stride=2)
    deep = ngf * 2**DOWNSAMPLING
    layers += [ResnetBlock(deep) for _ in range(n_blocks)]
    return nn.Sequential(*layers)


def _decoder(ngf: int, n_blocks: int) -> nn.Sequential:
    """Residual blocks, three transposed convs back to full size, 7x7 conv to RGB and tanh."""
    deep = ngf * 2**DOWNSAMPLING
    layers: list[nn.Module] = [ResnetBlock(deep) for _ in range(n_blocks)]
    for i in range(DOWNSAMPLING, 0, -1):
        channels = ngf * 2**i
        layers += [
            nn.ConvTranspose2d(
                channels, channels // 2, 3, stride=2, padding=1, output_padding=1, bias=False
            ),
            norm(channels // 2),
            nn.ReLU(inplace=True),
        ]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, RGB, 7), nn.Tanh()]
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """G(X_{t-w+1..t}, Y~_{t-w+1..t-1}) -> Y~_t, with w = ``window`` (3 in the paper).

    The ``n_blocks`` residual blocks are split as in Head2Head: ceil(n/2) at the end of each encoder
    (they work on each input separately) and floor(n/2) at the start of the decoder (they work on
    the sum). With ngf=64 and 9 blocks this gives about 71 M parameters.

    ``condition_channels`` is 6 (NMFC + eye sketch) or 3 (NMFC only, the "w/o eyes" ablation).
    A non-sequential generator (``sequential=False``, the "w/o seq. G" ablation) has no second
    encoder and ignores previous frames.
    """

    def __init__(
        self,
        condition_channels: int = 6,
        window: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        sequential: bool = True,
    ) -> None:
        super().__init__()
        if window < 1 or (sequential and window < 2):
            raise ValueError(f"window must be >= 2 (sequential) or >= 1 (non-sequential): {window}")
        self.condition_channels = condition_channels
        self.window = window
        self.sequential = sequential
        encoder_blocks = n_blocks - n_blocks // 2
        self.condition_encoder = _encoder(window * condition_channels, ngf, encoder_blocks)
        self.previous_encoder = (
            _encoder((window - 1) * RGB, ngf, encoder_blocks) if sequential else None
        )
        self.decoder = _decoder(ngf, n_blocks // 2)

    def forward(
        self, conditions: torch.Tensor, previous: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Render one frame per batch item.

        conditions: (B, window, C, H, W), oldest frame first, the frame to render last.
        previous: (B, window - 1, 3, H, W), the frames generated before, oldest first; None means
        zeros (start of a video). Ignored by a non-sequential generator.
        Returns (B, 3, H, W) in [-1, 1]. H and W must be multiples of 8.
        """
        b, w, c, h, wd = conditions.shape
        if (w, c) != (self.window, self.condition_channels):
            raise ValueError(
                f"conditions must be (B, {self.window}, {self.condition_channels}, H, W), "
                f"got {tuple(conditions.shape)}"
            )
        step = 2**DOWNSAMPLING
        if h % step or wd % step:
            raise ValueError(f"frame size must be a multiple of {step}, got {h}x{wd}")
        features = self.condition_encoder(conditions.flatten(1, 2))
        if self.previous_encoder is not None and previous is not None:
            expected = (b, self.window - 1, RGB, h, wd)
            if tuple(previous.shape) != expected:
                raise ValueError(f"previous must be {expected}, got {tuple(previous.shape)}")
            features = features + self.previous_encoder(previous.flatten(1, 2))
        # With all-zero previous frames the second encoder outputs exactly zero (bias-free convs
        # followed by instance norm), so skipping it for None is the same as feeding zeros.
        return self.decoder(features)


def render_sequence(
    generator: Generator,
    conditions: torch.Tensor,
    previous: torch.Tensor | None = None,
    context: int = 0,
    detach_previous: bool = False,
) -> torch.Tensor:
    """Apply G frame after frame, each output feeding the next step (paper Sec. 3.4).

    conditions: (B, T, C, H, W). Frames ``context..T-1`` are rendered; the first ``context``
    frames only serve as history for the condition windows. Where a window reaches before frame 0
    the earliest frame is repeated (the start of a video).
    previous: (B, window - 1, 3, H, W), frames generated before the first rendered one (zeros
    when None). Pass the last window - 1 outputs of one call to the next to render a long video
    in chunks.
    detach_previous: cut the gradient through the fed-back frames (truncated backpropagation
    through time, saves memory); by default gradients flow through the whole sequence.
    Returns (B, T - context, 3, H, W).
    """
    b, t_total, _, h, w = conditions.shape
    if not 0 <= context < t_total:
        raise ValueError(f"context must be in [0, {t_total}), got {context}")
    window = generator.window
    outputs: list[torch.Tensor] = []
    if generator.sequential and previous is None:
        previous = conditions.new_zeros((b, window - 1, RGB, h, w))
    for t in range(context, t_total):
        index = torch.arange(t - window + 1, t + 1, device=conditions.device).clamp_(min=0)
        frame = generator(conditions[:, index], previous)
        outputs.append(frame)
        if generator.sequential:
            fed = frame.detach() if detach_previous else frame
            previous = torch.cat([previous[:, 1:], fed.unsqueeze(1)], dim=1)
    return torch.stack(outputs, dim=1)
