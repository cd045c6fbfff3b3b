"""Running the generator one frame at a time, as frames arrive.

The generator renders frame t from the conditions of frames t-w+1..t and its own outputs for
t-w+1..t-1 (paper Eq. 5). :class:`StreamingGenerator` keeps that history, so a video of any
length (or a live stream) is rendered with constant memory and no look-ahead, exactly as
:func:`h2h.nn.generator.render_sequence` renders a whole clip at once.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from h2h.nn.generator import RGB, Generator
from h2h.nn.images import channels_first, hwc, to_model_range


class StreamingGenerator:
    """Feed one condition image (NMFC, or NMFC + eyes stacked on channels) per frame, get the
    generated frame back."""

    def __init__(self, generator: Generator, device: str | torch.device = "cpu") -> None:
        self.generator = generator.eval().to(device)
        self.device = torch.device(device)
        self.window = generator.window
        self.conditions: deque[torch.Tensor] = deque(maxlen=self.window)
        self.previous: deque[torch.Tensor] = deque(maxlen=self.window - 1)

    def reset(self) -> None:
        """Start a new video (the next frame is rendered as a first frame)."""
        self.conditions.clear()
        self.previous.clear()

    @torch.inference_mode()
    def step(self, condition: np.ndarray) -> np.ndarray:
        """Render the frame whose condition image is ``condition`` (uint8, H x W x C)."""
        # The same conversions as training's, so a frame is rendered from the same numbers.
        current = to_model_range(channels_first(condition).to(self.device))
        if not self.conditions:  # before frame 0 the first frame is repeated
            self.conditions.extend([current] * (self.window - 1))
        self.conditions.append(current)
        previous = None
        if self.generator.sequential:
            history = list(self.previous)
            missing = self.window - 1 - len(history)
            if missing:  # zeros before the first generated frames
                history = [torch.zeros(RGB, *current.shape[1:], device=self.device)] * missing \
                    + history
            previous = torch.stack(history)[None]
        frame = self.generator(torch.stack(list(self.conditions))[None], previous)[0]
        if self.generator.sequential:
            self.previous.append(frame)
        return hwc(frame)
