"""A target as reenactment conditioning sees it, read from the stages' outputs, and the steps the
conditioning stage and ``h2h reenact`` share: which rows drive and which are driven in each mode,
and rendering the NMFC and eye images of a conditioning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from h2h.core.errors import H2HError
from h2h.core.outputs import read_manifest
from h2h.face3d.face_model import FaceModel
from h2h.face3d.nmfc import NMFCRenderer
from h2h.preprocess.eyes import eye_points, render_eyes
from h2h.preprocess.landmarks import read_landmarks
from h2h.reenact.conditioning import Conditioning, condition


@dataclass(frozen=True)
class TargetPaths:
    """Where the stages put what conditioning needs of one video."""

    fit: Path  # directory: fit.parquet, manifest.json (split, size, fps)
    identity: Path  # directory: identity.npy
    landmarks: Path  # directory: landmarks.parquet

    def __post_init__(self) -> None:  # accept str paths too (stage arguments)
        for name in ("fit", "identity", "landmarks"):
            object.__setattr__(self, name, Path(getattr(self, name)))

    @classmethod
    def under(cls, data: str | Path, video: str) -> TargetPaths:
        """The pipeline's layout: data/fit/<video>/, data/identity/<video>/, ..."""
        data = Path(data)
        return cls(data / "fit" / video, data / "identity" / video, data / "landmarks" / video)


@dataclass(frozen=True)
class Target:
    """One video's fit, eye points and average identity, with its train / test split."""

    name: str
    fit: pd.DataFrame  # fit table of every frame
    eyes: np.ndarray  # (N, 14, 2) eye points of every frame, NaN where invalid
    identity: np.ndarray  # average identity over the training split
    split: dict[str, list[int]]  # "train" / "test": half-open frame ranges
    size: int  # crop side: the NMFC and eye images are rendered at this size
    fps: float

    def part(self, name: str) -> tuple[pd.DataFrame, np.ndarray]:
        """Fit rows and eye points of the ``name`` split ("train" or "test")."""
        start, stop = self.split[name]
        return split_rows(self.fit, [start, stop]), self.eyes[start:stop]


def split_rows(table: pd.DataFrame, frames: list[int]) -> pd.DataFrame:
    """Rows ``frames[0] .. frames[1] - 1`` of a per-frame table, re-indexed from 0."""
    start, stop = frames
    return table.iloc[start:stop].reset_index(drop=True)


def _read_table(path: Path, stage: str) -> pd.DataFrame:
    if not path.is_file():
        raise H2HError(f"file not found: run the {stage} stage first", path)
    return pd.read_parquet(path)


def load_target(paths: TargetPaths, name: str | None = None) -> Target:
    """Read a video's fit (with its manifest), landmarks and identity. Missing outputs raise
    :class:`H2HError` naming the stage that writes them."""
    manifest = read_manifest(paths.fit, "fit")
    fit = _read_table(paths.fit / "fit.parquet", "fit")
    eyes = eye_points(read_landmarks(paths.landmarks / "landmarks.parquet"))
    identity_path = paths.identity / "identity.npy"
    if not identity_path.is_file():
        raise H2HError("file not found: run the identity stage first", identity_path)
    if len(eyes) != len(fit):
        raise H2HError(f"the landmarks have {len(eyes)} frames, the fit {len(fit)}: rerun the "
                       "stages of this video", paths.landmarks)
    return Target(name or paths.fit.name, fit, eyes, np.load(identity_path), manifest["split"],
                  int(manifest["size"]), float(manifest["fps"]))


def source_frames(mode: str, target: Target, n_source: int) -> list[int]:
    """The frame range of the source that drives the target: the target's own unseen test split
    in ``self`` mode, else the whole source video."""
    return list(target.split["test"]) if mode == "self" else [0, n_source]


def condition_target(mode: str, target: Target, source: pd.DataFrame, source_eyes: np.ndarray,
                     smooth_sigma: float) -> tuple[Conditioning, list[int]]:
    """:func:`h2h.reenact.conditioning.condition` of ``target`` driven by a source's fit table and eye
    points (of every source frame) in ``mode``: the target's training rows are the reference,
    the source rows those of :func:`source_frames`. Returns the conditioning and that range."""
    frames = source_frames(mode, target, len(source))
    train_rows, train_eyes = target.part("train")
    result = condition(mode, split_rows(source, frames), train_rows, target.identity,
                       source_eyes[frames[0]:frames[1]], train_eyes, smooth_sigma=smooth_sigma)
    return result, frames


def render_conditioning(conditioning: Conditioning, model: FaceModel, size: int,
                        identity: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(NMFC, eye sketch) images of every conditioned frame, ``size`` x ``size``, in order
    (black where the frame is invalid). ``identity``: the target's average identity, which
    every row of the table has: its neutral shape is built once, not per frame. Lazy: one frame
    is rendered per item taken."""
    with NMFCRenderer(model, size, size) as renderer:
        yield from zip(renderer.render_table(conditioning.table, identity),
                       render_eyes(conditioning.eyes, size, size))
