"""Frechet Video Distance (paper Table 3) with the I3D detector from a local TorchScript file.

FVD is the Frechet distance between the I3D features of real and generated video clips. No
package ships I3D weights and nothing may download at run time, so the detector is loaded from a
local file: the widely used TorchScript export ``i3d_torchscript.pt`` of the StyleGAN-V FVD code
(Kinetics-400 I3D, 400-D features). Its documented call convention, followed here:

    features = detector(x, rescale=False, resize=False, return_features=True)

with ``x`` float32 (B, 3, T, 224, 224) in [-1, 1] (we resize: shorter side to 224 bilinearly,
then centre crop, like that code's preprocessing). Clips are consecutive, non-overlapping windows
of 16 frames; the remainder of a video is dropped. With 400-D features the covariance needs well
over 400 clips (6400+ frames) to be full rank; shorter evaluations give noisy, upward-biased FVD.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from h2h.core.errors import H2HError

I3D_FILENAME = "i3d_torchscript.pt"
I3D_URL = "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt"
CLIP_LENGTH = 16
RESOLUTION = 224


@lru_cache(maxsize=2)
def _load(path: str) -> torch.jit.ScriptModule:
    try:
        with warnings.catch_warnings():
            # TorchScript is deprecated in recent torch, but this detector ships in it.
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(path, map_location="cpu").eval()
    except (RuntimeError, ValueError) as exc:
        raise H2HError(f"not a TorchScript I3D detector ({exc})", path) from exc


def load_i3d(path: str | Path) -> torch.jit.ScriptModule:
    """The TorchScript I3D detector at ``path``, loaded once per process and path."""
    path = Path(path)
    if not path.is_file():
        raise H2HError(
            f"I3D weights for FVD not found: download {I3D_FILENAME} (the TorchScript I3D of the "
            f"StyleGAN-V FVD code, {I3D_URL}) and give its path in params.yaml",
            path,
        )
    return _load(str(path.resolve()))


def video_clips(video: np.ndarray, clip_length: int = CLIP_LENGTH) -> np.ndarray:
    """Consecutive non-overlapping clips (n, clip_length, H, W, 3) of a video (N, H, W, 3);
    a view, no copy."""
    n = len(video) // clip_length
    if n == 0:
        raise H2HError(f"video has {len(video)} frames, FVD needs at least {clip_length}")
    return video[: n * clip_length].reshape(n, clip_length, *video.shape[1:])


def preprocess_clips(clips: np.ndarray, resolution: int = RESOLUTION) -> torch.Tensor:
    """uint8 clips (B, T, H, W, 3) -> float32 (B, 3, T, resolution, resolution) in [-1, 1]."""
    b, t, h, w, _ = clips.shape
    x = torch.from_numpy(np.ascontiguousarray(clips)).float().div_(255.0)
    x = x.reshape(b * t, h, w, 3).permute(0, 3, 1, 2)
    scale = resolution / min(h, w)
    size = (max(resolution, round(h * scale)), max(resolution, round(w * scale)))
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    top, left = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    x = x[:, :, top : top + resolution, left : left + resolution]
    x = x.reshape(b, t, 3, resolution, resolution).permute(0, 2, 1, 3, 4)
    return x.sub(0.5).mul(2.0).contiguous()


@torch.no_grad()
def i3d_features(
    clips: np.ndarray, detector: torch.jit.ScriptModule, batch_size: int = 8, device: str = "cpu"
) -> np.ndarray:
    """Detector features (n, F) of uint8 clips (n, T, H, W, 3), ``batch_size`` clips per call."""
    detector = detector.to(device)
    features = [
        detector(
            preprocess_clips(clips[i : i + batch_size]).to(device),
            rescale=False,
            resize=False,
            return_features=True,
        )
        .cpu()
        .double()
        .numpy()
        for i in range(0, len(clips), batch_size)
    ]
    return np.concatenate(features)


def video_features(video: np.ndarray, weights: str | Path, clip_length: int = CLIP_LENGTH,
                   device: str = "cpu") -> np.ndarray:
    """I3D features (n, F) of a uint8 video's (N, H, W, 3) consecutive clips: one side of FVD,
    the Frechet distance (:func:`h2h.evaluation.metrics.distributions.frechet_distance`) of
    the real and the generated video's features (their lengths may differ)."""
    return i3d_features(video_clips(video, clip_length), load_i3d(weights), device=device)
