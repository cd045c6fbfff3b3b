"""Training data: clips of real frames, conditioning images and optical flow, and the windows of
consecutive frames the rendering network is trained on.

Memory. A :class:`Clip` holds its streams at the model resolution: real, NMFC and eye-sketch frames
as uint8 (197 MB per 1000 frames per stream at 256x256) and one float16 flow array per temporal
stride (262 MB per 1000 frames per stride at 256x256): about 1.4 GB per 1000 frames with eyes and
three strides, a quarter of that at 128x128. One target video fits in memory. A pretraining corpus
(FaceForensics++: 1000 videos) does not, so the corpus stage decodes each clip once into .npy
files (:func:`save_clip`) and pretraining memory-maps them (:func:`open_clip`): a window reads
only its own frames, the OS page cache keeps what fits, and DataLoader workers share the mapping
instead of copying the data.

Window convention (the same as :func:`h2h.nn.generator.render_sequence`): a window of T frames
starting at frame s comes with the ``window - 1`` condition frames before s that G's first output needs; at
the start of a clip, where there are none, the first frame is repeated. G's previously generated
frames start as zeros at every window, as at the start of a video.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from h2h.core.errors import H2HError
from h2h.core.outputs import atomic_directory, read_manifest, write_json
from h2h.core.progress import progress
from h2h.media.video import iter_frames
from h2h.nn.config import ModelConfig
from h2h.nn.images import channels_first
from h2h.nn.regions import mouth_centres
from h2h.nn.temporal import min_sequence_length
from h2h.preprocess.flow import load_flows
from h2h.preprocess.landmarks import points_array, read_landmarks

#: Strides of the flows the flow stage writes (D_D's temporal scales 1, 2, 4).
FLOW_STRIDES = (1, 2, 4)
_CLIP_JSON = "clip.json"


@dataclass(frozen=True)
class ClipPaths:
    """Where the stages put one video's training inputs (see :meth:`under` for the layout)."""

    crop: Path  # directory with frames.mkv and manifest.json (fps, train/test split)
    landmarks: Path
    nmfc: Path
    eyes: Path
    flows: Path

    @classmethod
    def under(cls, data: str | Path, video: str) -> ClipPaths:
        """The pipeline's layout: data/crop/v/, data/landmarks/v/landmarks.parquet, ..."""
        data = Path(data)
        return cls(
            crop=data / "crop" / video,
            landmarks=data / "landmarks" / video / "landmarks.parquet",
            nmfc=data / "nmfc" / video / "nmfc.mkv",
            eyes=data / "eyes" / video / "eyes.mkv",
            flows=data / "flow" / video / "flows.npz",
        )

    @property
    def frames(self) -> Path:
        return self.crop / "frames.mkv"

    def sources(self, eyes: bool = True) -> list[Path]:
        """The files a clip is read from (for cache keys)."""
        files = [self.crop / "manifest.json", self.frames, self.landmarks, self.nmfc, self.flows]
        return files + [self.eyes] if eyes else files


@dataclass
class Clip:
    """One video's training frames at the model resolution (arrays or read-only memory maps).

    real, nmfc, eyes: (N, R, R, 3) uint8 (eyes None when not loaded: the "w/o eyes" ablation).
    mouth: (N, 2) float32 mouth centre (x, y) in pixels of the R x R frames, NaN where invalid.
    valid: (N,) bool, frames with landmarks. flows: stride s -> (N - s, R, R, 2) float16, item t
    the flow (pixels at R) between real frames t and t + s. first_frame: index of row 0 in the
    source video.
    """

    name: str
    fps: float
    first_frame: int
    real: np.ndarray
    nmfc: np.ndarray
    eyes: np.ndarray | None
    mouth: np.ndarray
    valid: np.ndarray
    flows: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, r = len(self.real), self.real.shape[1]
        streams = [("nmfc", self.nmfc), ("eyes", self.eyes)]
        for name, array in [("real", self.real), *streams]:
            if array is not None and (array.shape != (n, r, r, 3) or array.dtype != np.uint8):
                raise ValueError(f"clip {self.name}: {name} must be uint8 {(n, r, r, 3)}, "
                                 f"got {array.dtype} {array.shape}")
        if self.mouth.shape != (n, 2) or self.valid.shape != (n,):
            raise ValueError(f"clip {self.name}: mouth must be ({n}, 2) and valid ({n},)")
        for s, flow in self.flows.items():
            if flow.shape != (max(n - s, 0), r, r, 2):
                raise ValueError(f"clip {self.name}: flows of stride {s} must be "
                                 f"{(max(n - s, 0), r, r, 2)}, got {flow.shape}")

    @property
    def n_frames(self) -> int:
        return len(self.real)

    @property
    def resolution(self) -> int:
        return self.real.shape[1]


def _read_stream(path: Path, start: int, count: int, resolution: int) -> tuple[np.ndarray, int]:
    """Frames start..start+count-1 of a video resized to R x R (INTER_AREA), and the source side."""
    out = np.empty((count, resolution, resolution, 3), np.uint8)
    n, side = 0, 0
    for n, frame in enumerate(iter_frames(path, start, count), start=1):
        side = frame.shape[0]
        if frame.shape[:2] != (side, side):
            raise H2HError(f"frames must be square, got {frame.shape[1]}x{frame.shape[0]}", path)
        if side != resolution:
            frame = cv2.resize(frame, (resolution, resolution), interpolation=cv2.INTER_AREA)
        out[n - 1] = frame
    if n != count:
        raise H2HError(f"video ends at frame {start + n}, the clip needs frames "
                       f"{start}..{start + count - 1}", path)
    return out, side


def resize_flows(flows: np.ndarray, resolution: int) -> np.ndarray:
    """(n, h, w, 2) flows in pixels at w x h -> float16 (n, R, R, 2) in pixels at R x R."""
    n, h, w, _ = flows.shape
    if (h, w) == (resolution, resolution):
        return flows.astype(np.float16, copy=False)
    scale = np.array([resolution / w, resolution / h], np.float32)
    shrink = resolution < min(h, w)
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    out = np.empty((n, resolution, resolution, 2), np.float16)
    for i, flow in enumerate(flows):
        out[i] = cv2.resize(flow.astype(np.float32), (resolution, resolution),
                            interpolation=interpolation) * scale
    return out


def load_clip(
    paths: ClipPaths,
    resolution: int,
    split: str = "train",
    max_frames: int = 0,
    eyes: bool = True,
    strides: Sequence[int] = FLOW_STRIDES,
    name: str | None = None,
) -> Clip:
    """Load the ``split`` frame range of one video, resized to ``resolution``, into memory.

    max_frames: use only the first N frames of the range (0: all), for the training-length study.
    eyes: also load the eye sketches (False for the "w/o eyes" ablation). strides: the flow
    strides to load (those of D_D's temporal scales; none without D_D).
    """
    manifest = read_manifest(paths.crop, "crop")
    if split not in manifest.get("split", {}):
        raise H2HError(f"the crop manifest has no {split!r} split", paths.crop)
    start, stop = manifest["split"][split]
    if max_frames:
        stop = min(stop, start + max_frames)
    count = stop - start
    if count < 1:
        raise H2HError(f"the {split} split [{start}, {stop}) has no frames", paths.crop)
    real, side = _read_stream(paths.frames, start, count, resolution)
    nmfc, _ = _read_stream(paths.nmfc, start, count, resolution)
    eye_frames = _read_stream(paths.eyes, start, count, resolution)[0] if eyes else None

    table = read_landmarks(paths.landmarks).set_index("frame").reindex(range(start, stop))
    valid = table["valid"].fillna(False).to_numpy(bool)
    scale = resolution / side  # pixel centres: x' = (x + 1/2) s - 1/2
    mouth = ((mouth_centres(points_array(table)) + 0.5) * scale - 0.5).astype(np.float32)
    mouth[~valid] = np.nan

    flows = {}
    stored = load_flows(paths.flows) if strides else {}
    for s in strides:
        if s not in stored:
            raise H2HError(f"no optical flows of stride {s} (the flow stage must write "
                           f"strides {list(strides)})", paths.flows)
        if len(stored[s]) < stop - s:
            raise H2HError(f"flows of stride {s} cover {len(stored[s]) + s} frames, the clip "
                           f"needs {stop}", paths.flows)
        flows[s] = resize_flows(stored[s][start:max(start, stop - s)], resolution)
    return Clip(name or paths.crop.name, float(manifest["fps"]), start, real, nmfc, eye_frames,
                mouth, valid, flows)


def save_clip(clip: Clip, directory: str | Path) -> None:
    """Write a clip as .npy files (for memory mapping) plus clip.json, atomically."""
    with atomic_directory(directory) as tmp:
        arrays = {"real": clip.real, "nmfc": clip.nmfc, "mouth": clip.mouth, "valid": clip.valid}
        if clip.eyes is not None:
            arrays["eyes"] = clip.eyes
        arrays.update({f"flow_{s}": f for s, f in clip.flows.items()})
        for key, array in arrays.items():
            np.save(tmp / f"{key}.npy", np.ascontiguousarray(array))
        write_json(tmp / _CLIP_JSON, {"name": clip.name, "fps": clip.fps,
                                      "first_frame": clip.first_frame,
                                      "eyes": clip.eyes is not None,
                                      "strides": sorted(clip.flows)})


def open_clip(directory: str | Path) -> Clip:
    """A clip written by :func:`save_clip`, memory-mapped read-only."""
    directory = Path(directory)
    if not (directory / _CLIP_JSON).is_file():
        raise H2HError(f"not a saved clip (no {_CLIP_JSON})", directory)
    meta = json.loads((directory / _CLIP_JSON).read_text())
    def load(key: str) -> np.ndarray:
        return np.load(directory / f"{key}.npy", mmap_mode="r")

    return Clip(meta["name"], meta["fps"], meta["first_frame"], load("real"), load("nmfc"),
                load("eyes") if meta["eyes"] else None, load("mouth"), load("valid"),
                {int(s): load(f"flow_{s}") for s in meta["strides"]})


def load_clips(
    videos: Mapping[str, ClipPaths],
    resolution: int,
    split: str = "train",
    max_frames: int = 0,
    eyes: bool = True,
    strides: Sequence[int] = FLOW_STRIDES,
) -> list[Clip]:
    """Clips of several videos, named by their ids, held in memory (a corpus too large for
    memory is saved clip by clip with :func:`save_clip` and memory-mapped with :func:`open_clip`,
    as the corpus stage does)."""
    return [load_clip(paths, resolution, split, max_frames, eyes, strides, video)
            for video, paths in progress(videos.items(), "clips", len(videos))]


class WindowDataset(Dataset):
    """Windows of consecutive training frames over one or many clips, for ``model_config``.

    Windows are ``min_sequence_length(temporal_scales, temporal_factor)`` frames long, enough
    for every temporal scale of D_D; the same with the "w/o D_D" ablation, so that ablations
    train on the same windows and a sequential G still learns to use its previous frames.
    step: frames between window starts (0: the sequence length, so an
    epoch renders each frame about once). Windows with a frame without landmarks (including
    the context frames before the window) are skipped.

    Item: dict with "conditions" uint8 (T + window - 1, C, R, R) (context first), "real" uint8
    (T, 3, R, R), "mouth" float32 (T, 2) and "flows" {stride: float16 (T - stride, 2, R, R)}.
    """

    def __init__(
        self,
        clips: Sequence[Clip],
        model_config: ModelConfig,
        step: int = 0,
    ) -> None:
        if not clips:
            raise H2HError("no training clips")
        cfg = model_config
        self.clips = list(clips)
        self.resolution = cfg.resolution
        self.length = min_sequence_length(cfg.temporal_scales, cfg.temporal_factor)
        self.context = cfg.window - 1
        self.eyes = not cfg.ablation.no_eyes
        self.strides = cfg.flow_strides
        self.step = step or self.length
        index = []
        for c, clip in enumerate(self.clips):
            self._check(clip)
            invalid = np.concatenate([[0], np.cumsum(~np.asarray(clip.valid, bool))])
            for start in range(0, clip.n_frames - self.length + 1, self.step):
                first = max(0, start - self.context)
                if invalid[start + self.length] == invalid[first]:
                    index.append((c, start))
        self.index = np.array(index, np.int64).reshape(-1, 2)

    def _check(self, clip: Clip) -> None:
        if clip.resolution != self.resolution:
            raise H2HError(f"clip {clip.name} is {clip.resolution} px, the model "
                           f"{self.resolution} px")
        if self.eyes and clip.eyes is None:
            raise H2HError(f"clip {clip.name} was loaded without eye sketches, the model "
                           f"needs them")
        missing = [s for s in self.strides if s not in clip.flows]
        if missing:
            raise H2HError(f"clip {clip.name} has no flows of stride(s) {missing}")

    def __len__(self) -> int:
        return len(self.index)

    def describe(self) -> dict[str, Any]:
        """What the dataset is made of, as plain data (part of the run's identity on resume)."""
        return {
            "clips": [{"name": c.name, "first_frame": int(c.first_frame), "frames": c.n_frames}
                      for c in self.clips],
            "resolution": self.resolution,
            "sequence_length": self.length,
            "step": self.step,
            "windows": len(self),
        }

    def condition_frames(self, clip: Clip, index: np.ndarray) -> np.ndarray:
        """(len(index), R, R, C) uint8 conditions of the given frames: NMFC, then eyes."""
        if not self.eyes:
            return clip.nmfc[index]
        return np.concatenate([clip.nmfc[index], clip.eyes[index]], axis=-1)

    def __getitem__(self, i: int) -> dict[str, Any]:
        c, start = (int(v) for v in self.index[i])
        clip = self.clips[c]
        stop = start + self.length
        frames = np.arange(start - self.context, stop).clip(min=0)
        return {
            "conditions": channels_first(self.condition_frames(clip, frames)),
            "real": channels_first(clip.real[start:stop]),
            "mouth": torch.from_numpy(np.array(clip.mouth[start:stop], np.float32)),
            "flows": {s: channels_first(clip.flows[s][start:stop - s]) for s in self.strides},
        }
