"""Dense optical flow between video frames (OpenCV DIS) and backward warping.

The paper conditions its Dynamics Discriminator on the optical flow of the real video, estimated
with a FlowNet2 fine-tuned on 4DFAB (Sec. 3.4). Those weights are not available offline, so the
flow here is OpenCV's DIS (Dense Inverse Search), a classical method that needs no weights and
is deterministic: ~20 ms per 256x256 frame pair on a CPU with the default preset "medium", ~4 ms
with "fast". The same module serves the temporal metric (flow-warping error) in
:mod:`h2h.evaluation.metrics.temporal`.

Convention used everywhere: ``flow = compute_flow(a, b)`` is a float32 (H, W, 2) array of (dx, dy)
in pixels such that ``a(p) ~ b(p + flow(p))``; hence ``warp(b, flow) ~ a``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

from h2h.core.config import Section
from h2h.core.errors import H2HError
from h2h.core.outputs import load_npz, save_npz
from h2h.core.progress import progress

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}

_KEY_PREFIX = "stride_"


@dataclass(frozen=True)
class FlowParams(Section):
    """params.yaml's ``flow`` section: the real-frame flows D_D is trained with (paper 3.4)."""

    name: ClassVar[str] = "flow"

    size: int  # flows are computed at this side (the training resolution)
    strides: tuple[int, ...]  # frame distances of D_D's temporal scales
    preset: str  # OpenCV DIS preset: ultrafast | fast | medium


def _dis(preset: str) -> cv2.DISOpticalFlow:
    """A DIS instance for ``preset``; a bad name is a user error (it comes from params.yaml)."""
    if preset not in PRESETS:
        raise H2HError(f"unknown DIS preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return cv2.DISOpticalFlow_create(PRESETS[preset])


def _grey(frame: np.ndarray) -> np.ndarray:
    """DIS works on single-channel 8-bit images."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def compute_flow(a: np.ndarray, b: np.ndarray, preset: str = "medium") -> np.ndarray:
    """Flow from RGB uint8 frame ``a`` to ``b``: float32 (H, W, 2), ``a(p) ~ b(p + flow(p))``."""
    if a.shape != b.shape:
        raise ValueError(f"frames differ in shape: {a.shape} vs {b.shape}")
    return _dis(preset).calc(_grey(a), _grey(b), None)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: ``out(p) = image(p + flow(p))``, bilinear, borders replicated.

    With ``flow = compute_flow(a, b)``, ``warp(b, flow)`` moves ``b`` onto ``a``. Accepts any
    dtype cv2.remap handles (uint8 or float images, 1..4 channels, or flows themselves); the output
    keeps the input's dtype and shape.
    """
    h, w = flow.shape[:2]
    if image.shape[:2] != (h, w):
        raise ValueError(f"image {image.shape[:2]} and flow {flow.shape[:2]} differ in size")
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    flow = flow.astype(np.float32, copy=False)
    return cv2.remap(
        image,
        grid_x + flow[..., 0],
        grid_y + flow[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def clip_flows(
    frames: np.ndarray | Sequence[np.ndarray],
    strides: Sequence[int] = (1,),
    preset: str = "medium",
) -> dict[int, np.ndarray]:
    """Flows t -> t+s of a whole clip for every stride ``s``: {s: float16 (N - s, H, W, 2)}.

    The multi-scale Dynamics Discriminator looks at the clip at its frame rate and sub-sampled by
    2 and 4, hence several strides. float16 halves the storage; at |flow| < 64 px its step is at
    most 1/32 px, far below the accuracy of any flow method. A clip shorter than a stride gets an
    empty array for it.
    """
    if any(s < 1 for s in strides):
        raise H2HError(f"flow strides must be positive integers, got {list(strides)}")
    dis = _dis(preset)
    grey = [_grey(f) for f in frames]
    if not grey:
        raise H2HError("cannot compute the flow of an empty clip")
    h, w = grey[0].shape
    flows: dict[int, np.ndarray] = {}
    for s in sorted(set(strides)):
        out = np.empty((max(len(grey) - s, 0), h, w, 2), dtype=np.float16)
        for t in progress(range(len(out)), desc=f"flow stride {s}", total=len(out)):
            out[t] = dis.calc(grey[t], grey[t + s], None)
        flows[s] = out
    return flows


def save_flows(path: str | Path, flows: dict[int, np.ndarray]) -> None:
    """Write the flows of one clip to one compressed ``.npz`` (atomic, reproducible bytes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_npz(path, {f"{_KEY_PREFIX}{s}": np.asarray(f, dtype=np.float16)
                    for s, f in flows.items()}, compress=True)


def load_flows(path: str | Path) -> dict[int, np.ndarray]:
    """Read what :func:`save_flows` wrote: {stride: float16 (N - stride, H, W, 2)}."""
    arrays = load_npz(path, "flow file not found (run the flow stage first)")
    flows = {int(k[len(_KEY_PREFIX):]): v for k, v in arrays.items() if k.startswith(_KEY_PREFIX)}
    if not flows:
        raise H2HError("flow file holds no flows", path)
    return flows
