"""The reenact stage's work (paper 4.2): a target's generator run one frame at a time over NMFC
and eye images, and the videos it writes (labelled synthetic, see :mod:`h2h.media.label`).

Used by the reenact stage over a reenactment's conditioning videos and by :mod:`h2h.reenact.offline`
and :mod:`h2h.reenact.live` over a raw source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import torch

from h2h.core.config import Section
from h2h.core.threads import FasterThreads
from h2h.media.label import add_visible_mark
from h2h.media.video import VideoWriter
from h2h.nn.config import ModelConfig
from h2h.nn.generator import Generator
from h2h.reenact.side_by_side import side_by_side_frame
from h2h.reenact.streaming import StreamingGenerator


@dataclass(frozen=True)
class ReenactParams(Section):
    """params.yaml's ``reenact`` section."""

    name: ClassVar[str] = "reenact"

    mark: bool  # the visible SYNTHETIC mark (the metadata label is always written)
    device: str  # auto (cuda when present) | cpu | cuda

    @property
    def torch_device(self) -> str:
        """``device`` with ``auto`` resolved on this machine."""
        return default_device() if self.device == "auto" else self.device


def default_device() -> str:
    """The generator's device: the first CUDA GPU when there is one, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def resize_to(image: np.ndarray, resolution: int) -> np.ndarray:
    """A square image at ``resolution`` (cv2.INTER_AREA, as training resizes its inputs)."""
    if image.shape[0] == resolution:
        return image
    return cv2.resize(image, (resolution, resolution), interpolation=cv2.INTER_AREA)


class Synthesiser:
    """The generator's side of reenactment, one frame at a time: the NMFC and eye images at the
    generator's resolution, stacked on channels as in training (NMFC alone for a generator
    trained without eyes), in, the generated frame out.

    On the CPU the generator runs with the torch thread count measured faster at the time
    (:class:`h2h.core.threads.FasterThreads`), set in the calling thread, so a caller may run
    it in a worker thread; its frames do not depend on the count.
    """

    def __init__(self, generator: Generator, config: ModelConfig,
                 device: str | torch.device = "cpu") -> None:
        self.stream = StreamingGenerator(generator, device)
        self.resolution = config.resolution
        self.eyes = not config.ablation.no_eyes
        self.threads = (FasterThreads(torch.set_num_threads)
                        if self.stream.device.type == "cpu" else None)

    def __call__(self, nmfc: np.ndarray, eyes: np.ndarray) -> np.ndarray:
        condition = resize_to(nmfc, self.resolution)
        if self.eyes:
            condition = np.concatenate([condition, resize_to(eyes, self.resolution)], axis=-1)
        if self.threads is None:
            return self.stream.step(condition)
        return self.threads(lambda: self.stream.step(condition))


class ReenactOutput:
    """The video(s) a reenactment writes, in ``delivery`` mode at the source's frame rate:
    the result and optionally a side-by-side video (source crop | NMFC | eyes | result under a
    title row, panels of at least 256 px: :mod:`h2h.reenact.side_by_side`) and a lossless copy
    of the result (exact pixels, for metrics). All carry the synthetic metadata; the visible mark
    is drawn on every result frame unless ``mark`` is False. Files appear only when closed
    successfully."""

    def __init__(self, out: str | Path, fps: float, metadata: dict[str, str], mark: bool = True,
                 side_by_side: str | Path | None = None,
                 lossless: str | Path | None = None) -> None:
        self.mark = mark
        self.writers = [VideoWriter(out, fps, "delivery", metadata)]
        self.side_by_side = self.lossless = None
        if side_by_side is not None:
            self.side_by_side = VideoWriter(side_by_side, fps, "delivery", metadata)
            self.writers.append(self.side_by_side)
        if lossless is not None:
            self.lossless = VideoWriter(lossless, fps, "lossless", metadata)
            self.writers.append(self.lossless)
        self.frames = 0
        self._open = True

    def write(self, result: np.ndarray, crop: np.ndarray | None, nmfc: np.ndarray,
              eyes: np.ndarray) -> None:
        """Append one generated frame (and its inputs, for the side-by-side video: ``crop``
        may be None when there is none)."""
        shown = add_visible_mark(result) if self.mark else result
        self.writers[0].write(shown)
        if self.side_by_side is not None:
            self.side_by_side.write(side_by_side_frame(crop, nmfc, eyes, result, self.mark))
        if self.lossless is not None:
            self.lossless.write(shown)
        self.frames += 1

    def close(self) -> None:
        """Finish every video (raises H2HError when nothing was written)."""
        self._open = False
        for writer in self.writers:
            writer.close()

    def abort(self) -> None:
        """Stop and remove every partial video."""
        self._open = False
        for writer in self.writers:
            writer.abort()

    def __enter__(self) -> ReenactOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None:
            self.abort()
        elif self._open:
            self.close()
