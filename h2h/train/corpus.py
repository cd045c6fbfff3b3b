"""The corpus stage: one pretraining video's training clip at the networks' resolution (paper
4.6), decoded once and saved for memory mapping.

A cached stage per corpus video, so pretraining depends on exactly its corpus videos: adding a
driving clip or another target changes nothing it reads, and a corpus of hundreds of videos is
decoded in parallel jobs and read back without holding it in memory.
"""

from __future__ import annotations

from pathlib import Path

from h2h.train.data import FLOW_STRIDES, Clip, ClipPaths, load_clip, save_clip

#: The clip inside a corpus stage output (next to its manifest).
CLIP_DIR = "clip"


def save_corpus_clip(paths: ClipPaths, resolution: int, out: Path, name: str) -> Clip:
    """The training split of one video with every stream the networks may use (eye sketches and
    the flows of every D_D stride, so each ablation finds what it needs), saved in ``out``."""
    clip = load_clip(paths, resolution, "train", eyes=True, strides=FLOW_STRIDES, name=name)
    save_clip(clip, out / CLIP_DIR)
    return clip
