"""The rollout's epochs: chunks that move from epoch to epoch under a seed, sequences of
consecutive chunks whose length follows the schedule, fixed steps per epoch, lanes."""

from __future__ import annotations

import numpy as np
import pytest

from h2h.core.errors import H2HError
from h2h.train.rollout import (
    RolloutSampler,
    SequenceSchedule,
    chunks_per_epoch,
    epoch_plan,
    usable_starts,
    zero_history_share,
)

CHUNK, CONTEXT = 5, 2


def plan(valid: np.ndarray, per_sequence: int = 1, seed: int = 0, epoch: int = 0,
         lanes: int = 1, steps: int | None = None) -> np.ndarray:
    usable = usable_starts(valid, CHUNK, CONTEXT)
    steps = steps or (len(valid) - CHUNK + 1) // CHUNK // lanes
    return epoch_plan([usable], CHUNK, per_sequence, seed, epoch, lanes, steps)


def test_usable_starts_need_landmarks_on_the_chunk_and_its_context():
    valid = np.ones(20, bool)
    valid[9] = False
    usable = usable_starts(valid, CHUNK, CONTEXT)
    assert len(usable) == 16
    # Chunks covering frame 9, or starting at 10 and 11 (frame 9 is their context), are out.
    assert np.flatnonzero(~usable).tolist() == [5, 6, 7, 8, 9, 10, 11]


def test_chunk_offsets_move_from_epoch_to_epoch_and_repeat_under_the_seed():
    valid = np.ones(200, bool)
    offsets = {e: set(plan(valid, seed=3, epoch=e)[0, :, 1] % CHUNK) for e in range(12)}
    assert all(len(o) == 1 for o in offsets.values())  # one grid per clip and epoch
    assert len({o.pop() for o in offsets.values()}) >= 4  # that moves: 0..4 over 12 epochs
    assert np.array_equal(plan(valid, 2, seed=3, epoch=5), plan(valid, 2, seed=3, epoch=5))
    assert not np.array_equal(plan(valid, 2, seed=3, epoch=5), plan(valid, 2, seed=4, epoch=5))
    # Each epoch renders a frame at most once, every step a usable chunk.
    starts = np.sort(plan(valid, 4, epoch=7)[0, :, 1])
    assert (np.diff(starts) >= CHUNK).all() and len(starts) == 39 == (200 - 4) // CHUNK


def test_a_clip_shorter_than_two_chunks_has_one_chunk_at_offsets_that_fit():
    valid = np.ones(8, bool)  # chunks of 5 fit at 0..3, two never
    assert chunks_per_epoch(8, CHUNK) == 1 and chunks_per_epoch(4, CHUNK) == 0
    starts = {int(plan(valid, seed=1, epoch=e, steps=1)[0, 0, 1]) for e in range(40)}
    assert starts == {0, 1, 2, 3}


def test_sequences_are_consecutive_chunks_of_the_schedules_length():
    valid = np.ones(400, bool)
    chunks = plan(valid, per_sequence=4, epoch=2)[0]
    fresh = chunks[:, 2].astype(bool)
    assert fresh[0]
    lengths = np.diff(np.flatnonzero(np.r_[fresh, True]))
    assert lengths.max() == 4 and (lengths[1:-1] == 4).sum() >= len(lengths) - 3
    # Within a sequence each chunk starts where the one before ended: G's last outputs of
    # chunk k are the previous frames of chunk k + 1.
    continuing = ~fresh[1:]
    assert (chunks[1:, 1][continuing] == chunks[:-1, 1][continuing] + CHUNK).all()
    # Sequence starts move too (the sequence grid's phase is random per epoch).
    firsts = {tuple(sorted(plan(valid, 4, epoch=e)[0][plan(valid, 4, epoch=e)[0, :, 2] == 1, 1]
                           % (4 * CHUNK))) for e in range(6)}
    assert len(firsts) > 1


def test_a_sequence_never_crosses_a_frame_without_landmarks():
    valid = np.ones(100, bool)
    valid[47] = False
    for epoch in range(6):
        chunks = plan(valid, per_sequence=20, epoch=epoch)[0]
        assert all(not (s - CONTEXT <= 47 < s + CHUNK) for s in chunks[:, 1])
        before = chunks[:, 1] < 47
        # The chunks before frame 47 and after it belong to different sequences.
        after_first = np.flatnonzero(~before)
        assert chunks[after_first[chunks[after_first, 1].argmin()], 2] == 1


def test_the_share_of_frames_without_history_falls_as_the_schedule_says():
    schedule = SequenceSchedule(frames=5, doubling_epochs=2, max_frames=40)
    assert [schedule.chunks(e, CHUNK) for e in range(10)] == [1, 1, 2, 2, 4, 4, 8, 8, 8, 8]
    assert SequenceSchedule(12, 0, 0).chunks(50, CHUNK) == 2  # never grows
    valid = np.ones(400, bool)
    m = (400 - CHUNK + 1) // CHUNK
    shares = []
    for epoch in range(8):
        c = schedule.chunks(epoch, CHUNK)
        share = zero_history_share(plan(valid, c, epoch=epoch), CHUNK)
        # One frame without history per sequence: at least m / c sequences; the random phase
        # can cut a first, shorter one.
        most = 1 + -(-(m - 1) // c)
        assert 1 / (c * CHUNK) <= share <= most / (m * CHUNK), (epoch, c, share)
        shares.append(share)
    assert shares[0] == shares[1] == 1 / CHUNK  # every chunk from zeros, as without a rollout
    assert shares[0] > shares[2] > shares[4] > shares[6]
    assert shares[6] < 1 / (4 * CHUNK)


def test_lanes_split_the_epoch_and_each_starts_fresh():
    valid = np.ones(208, bool)  # 40 chunks at any offset
    chunks = plan(valid, per_sequence=3, lanes=4, steps=10)
    assert chunks.shape == (4, 10, 3) and (chunks[:, 0, 2] == 1).all()
    # The four lanes together render 40 distinct chunks of the epoch.
    assert len({int(s) for s in chunks[..., 1].ravel()}) == 40
    sampler = RolloutSampler([usable_starts(valid, CHUNK, CONTEXT)], CHUNK,
                             SequenceSchedule(15, 0, 0), 0, range(2, 4), 4, 10)
    keys = list(sampler)
    assert len(keys) == len(sampler) == 20
    # Process of lanes 2 and 3: step by step, its two lanes.
    assert [(k.start, k.fresh) for k in keys[:4]] == [
        (int(chunks[2, 0, 1]), True), (int(chunks[3, 0, 1]), True),
        (int(chunks[2, 1, 1]), bool(chunks[2, 1, 2])),
        (int(chunks[3, 1, 1]), bool(chunks[3, 1, 2]))]
    sampler.epoch, sampler.skip = 3, 8
    assert [k.epoch for k in sampler] == [3] * 4 and len(sampler) == 4


def test_an_epoch_with_too_few_usable_chunks_repeats_them_and_none_is_an_error():
    valid = np.zeros(60, bool)
    valid[20:32] = True  # 12 frames: chunks starting at 22..27 are usable (context 2)
    chunks = plan(valid, steps=7)[0]
    assert set(chunks[:, 1]) <= set(range(22, 28)) and len(chunks) == 7
    with pytest.raises(H2HError, match="no training chunk"):
        plan(np.zeros(60, bool), steps=3)
