"""The training rollout: which chunks of frames each step renders, and from what history
(paper 3.4, Eq. 5; the schedule is the authors' code's, the paper does not give it).

G renders a video frame after frame from its own previous outputs, starting from zeros only at a
video's first frame. Training follows that: an epoch cuts every clip into *sequences* of
consecutive chunks (a chunk: the frames one optimisation step renders, as many as the coarsest
temporal scale of D_D needs), and renders each sequence chunk by chunk, one step per chunk, the
last ``window - 1`` outputs of chunk k (detached: truncated backpropagation through time) being
G's previous frames for chunk k + 1. Only a sequence's first chunk starts from zeros.

- Offsets: each epoch shifts the chunk grid of every clip by a random 0..chunk-1 frames and the
  sequence boundaries by a random number of chunks, so chunk and sequence starts move from epoch
  to epoch (seeded: the same seed gives the same epochs).
- Sequence length: ``sequence_frames`` at first, doubled every ``sequence_doubling_epochs``
  epochs up to ``max_sequence_frames`` (the authors' code: 12 frames doubled every 5 epochs up to
  its 50-frame training parts), so the share of frames rendered without history falls from
  ~1/chunk towards ~1/sequence.
- Batches: the ``batch_size x processes`` items of a step are *lanes*, each working through its
  own stream of sequences; lane b of step t + 1 continues lane b of step t.

Every epoch has the same number of steps (the chunks a clip holds at any offset, divided among
the lanes), so the learning-rate schedule and a resumed run's position are fixed in advance. An
epoch is a pure function of (seed, epoch, dataset), so a resumed run rebuilds it and skips the
steps already done; the history a lane carries is saved in the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from torch.utils.data import Sampler

from h2h.core.errors import H2HError


class ChunkKey(NamedTuple):
    """What the dataset reads for one lane of one step: ``clip``'s chunk starting at frame
    ``start``; ``fresh``: G's previous frames start as zeros (the first chunk of a sequence);
    ``seed`` and ``epoch`` seed the chunk's augmentation."""

    seed: int
    epoch: int
    clip: int
    start: int
    fresh: bool


@dataclass(frozen=True)
class SequenceSchedule:
    """How long the sequences of each epoch are (frames; see the module docstring)."""

    frames: int
    doubling_epochs: int  # 0: never grows
    max_frames: int  # 0: no limit (a whole run of valid frames)

    def chunks(self, epoch: int, chunk: int) -> int:
        """Chunks per sequence in ``epoch`` (0-based) for chunks of ``chunk`` frames."""
        frames = self.frames * 2 ** (epoch // self.doubling_epochs if self.doubling_epochs else 0)
        if self.max_frames:
            frames = min(frames, self.max_frames)
        return max(1, frames // chunk)


def usable_starts(valid: np.ndarray, chunk: int, context: int) -> np.ndarray:
    """(n - chunk + 1,) bool: whether the chunk starting at each frame and its ``context``
    condition frames before it (fewer at the clip's start) all have landmarks."""
    invalid = np.concatenate([[0], np.cumsum(~np.asarray(valid, bool))])
    starts = np.arange(max(len(valid) - chunk + 1, 0))
    first = np.maximum(starts - context, 0)
    return invalid[starts + chunk] == invalid[first]


def chunks_per_epoch(n_frames: int, chunk: int) -> int:
    """Chunks of a clip of ``n_frames`` whatever the epoch's offset (:func:`offsets`); a clip
    shorter than two chunks but holding one has that one."""
    if n_frames < chunk:
        return 0
    return max((n_frames - chunk + 1) // chunk, 1)


def offsets(n_frames: int, chunk: int) -> int:
    """How many offsets of the chunk grid keep :func:`chunks_per_epoch` chunks inside the clip:
    ``chunk`` (0..chunk-1), or fewer for a clip shorter than two chunks."""
    return min(chunk, n_frames - chunks_per_epoch(n_frames, chunk) * chunk + 1)


def _sequences(usable: np.ndarray, chunk: int, per_sequence: int,
               rng: np.random.Generator) -> list[list[int]]:
    """One clip's sequences of an epoch: chunk starts on a grid shifted by a random offset,
    unusable chunks dropped, runs of consecutive chunks cut every ``per_sequence`` chunks from a
    random phase."""
    n_frames = len(usable) + chunk - 1
    offset = int(rng.integers(offsets(n_frames, chunk)))
    phase = int(rng.integers(per_sequence))
    count = chunks_per_epoch(n_frames, chunk)
    sequences: list[list[int]] = []
    previous = -2
    for j in range(count):
        start = offset + j * chunk
        if not usable[start]:
            continue
        if previous != j - 1 or (j + phase) % per_sequence == 0:
            sequences.append([])
        sequences[-1].append(start)
        previous = j
    return sequences


def epoch_plan(usable: list[np.ndarray], chunk: int, per_sequence: int, seed: int, epoch: int,
               lanes: int, steps: int) -> np.ndarray:
    """The chunks of one epoch: (lanes, steps, 3) int64 of (clip, start, fresh).

    usable: per clip, :func:`usable_starts`. The sequences of every clip are shuffled into one
    stream (repeated when invalid frames leave fewer chunks than the steps need); lane l takes
    its ``steps`` consecutive chunks, its first one fresh whatever it was in the stream.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed % 2**32, epoch]))
    sequences = [(c, seq) for c, ok in enumerate(usable)
                 for seq in _sequences(ok, chunk, per_sequence, rng)]
    if not sequences:  # this epoch's grid hits an invalid frame in every chunk
        sequences = [(c, [int(s)]) for c, ok in enumerate(usable) for s in np.flatnonzero(ok)]
    if not sequences:
        raise H2HError("no training chunk: the clips are shorter than "
                       f"{chunk} frames or lack landmarks")
    stream = np.array([(c, start, i == 0) for k in rng.permutation(len(sequences))
                       for c, seq in [sequences[k]] for i, start in enumerate(seq)], np.int64)
    needed = lanes * steps
    stream = np.resize(stream, (needed, 3)).reshape(lanes, steps, 3)
    stream[:, 0, 2] = 1
    return stream


def zero_history_share(plan: np.ndarray, chunk: int) -> float:
    """Share of an epoch's rendered frames that G renders from no previous frame at all (the
    first frame of each fresh chunk)."""
    return float(plan[..., 2].sum() / (plan[..., 2].size * chunk))


class RolloutSampler(Sampler):
    """Keys (:class:`ChunkKey`) of this process's lanes in step order (lane by lane within a
    step, as a DataLoader with batch_size lanes-per-process groups them); set ``epoch`` and
    ``skip`` (steps already done in it) before iterating."""

    def __init__(self, usable: list[np.ndarray], chunk: int, schedule: SequenceSchedule,
                 seed: int, lanes: range, total_lanes: int, steps: int) -> None:
        self.usable, self.chunk, self.schedule, self.seed = usable, chunk, schedule, seed
        self.lanes, self.total_lanes, self.steps = lanes, total_lanes, steps
        self.epoch = 0
        self.skip = 0

    def plan(self, epoch: int) -> np.ndarray:
        """Every lane's chunks of ``epoch`` (see :func:`epoch_plan`)."""
        return epoch_plan(self.usable, self.chunk, self.schedule.chunks(epoch, self.chunk),
                          self.seed, epoch, self.total_lanes, self.steps)

    def __iter__(self) -> Iterator[ChunkKey]:
        plan = self.plan(self.epoch)
        for t in range(self.skip, self.steps):
            for lane in self.lanes:
                c, start, fresh = (int(v) for v in plan[lane, t])
                yield ChunkKey(self.seed, self.epoch, c, start, bool(fresh))

    def __len__(self) -> int:
        return (self.steps - self.skip) * len(self.lanes)
