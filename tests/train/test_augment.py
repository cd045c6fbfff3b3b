"""Conditioning augmentation: its bounds, its determinism under the seed, and that it touches
only the conditions of training chunks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from h2h.train.augment import (
    NO_AUGMENTATION,
    Augmentation,
    affine,
    frame_rng,
    jitter,
    noisy_eye_points,
)
from h2h.train.data import WindowDataset
from h2h.train.rollout import ChunkKey
from h2h.train.synthetic import synthetic_clip
from tests.support.training import TINY

AT_64 = dataclasses.replace(TINY, resolution=64)  # eyes wide enough to move visibly

AUTHORS = Augmentation(jitter_shift=0.01, jitter_scale=0.01, eye_scale_sd=0.02, eye_shift_sd=2.0)
STRONG = Augmentation(jitter_shift=0.1, jitter_scale=0.1, eye_scale_sd=0.1, eye_shift_sd=2.0)


def test_the_jitter_stays_within_its_shift_and_scale():
    side, shift, scale = 64, 0.05, 0.08
    c = (side - 1) / 2
    for k in range(300):
        m = affine(side, shift, scale, frame_rng(0, 0, 0, k))
        assert m[0, 1] == m[1, 0] == 0 and m[0, 0] == m[1, 1]  # scale and shift, no rotation
        assert abs(m[0, 0] - 1) <= scale
        # Where the image centre goes: the translation alone.
        moved = m[:, :2] @ [c, c] + m[:, 2] - c
        assert np.abs(moved).max() <= shift * side + 1e-9
    # On an image: a dot moves by at most the shift plus the scale's move at its distance.
    image = np.zeros((side, side, 3), np.uint8)
    image[10, 50] = 255
    for k in range(50):
        out = jitter(image, Augmentation(shift, scale, 0, 0), frame_rng(1, 0, 0, k))
        ys, xs = np.nonzero(out[..., 0])
        distance = np.hypot(50 - c, 10 - c)
        if len(xs):  # nearest-neighbour sampling may drop a single shrunk pixel
            assert np.hypot(xs - 50, ys - 10).max() <= shift * side * 2**0.5 + scale * distance + 1
        assert set(np.unique(out)) <= {0, 255}  # nearest neighbour: no new colours


def test_eye_noise_scales_each_eye_about_its_centre_and_shifts_it_sideways():
    points = synthetic_clip(1, 128).eye_points[0].astype(np.float64)
    scales, shifts = [], []
    for k in range(2000):
        noisy = noisy_eye_points(points, AUTHORS, frame_rng(0, 0, 0, k))
        for eye in (np.r_[0:6, 12], np.r_[6:12, 13]):
            a, b = points[eye], noisy[eye]
            size = (np.linalg.norm(b[:6] - b.mean(0), axis=1)
                    / np.linalg.norm(a[:6] - a.mean(0), axis=1))
            assert np.allclose(size, size[0])  # one scale for the whole eye's outline
            assert b.mean(0)[1] == pytest.approx(a.mean(0)[1])  # no vertical move
            scales.append(size[0] - 1)
            shifts.append(b.mean(0)[0] - a.mean(0)[0])
    assert np.std(scales) == pytest.approx(0.02, rel=0.1)
    assert np.std(shifts) == pytest.approx(2.0, rel=0.1)
    assert abs(np.mean(shifts)) < 0.15


def chunk(dataset: WindowDataset, start: int, epoch: int = 0, seed: int = 0) -> dict:
    return dataset[ChunkKey(seed, epoch, 0, start, False)]


def test_augmentation_is_a_function_of_seed_epoch_and_frame_and_leaves_real_frames_alone():
    clip = synthetic_clip(30, 64)
    plain = WindowDataset([clip], AT_64)
    augmented = WindowDataset([clip], AT_64, STRONG)
    a = chunk(augmented, 10)
    assert not np.array_equal(a["conditions"], chunk(plain, 10)["conditions"])
    assert np.array_equal(a["real"], chunk(plain, 10)["real"])
    assert np.array_equal(a["conditions"], chunk(augmented, 10)["conditions"])  # repeatable
    assert not np.array_equal(a["conditions"], chunk(augmented, 10, epoch=1)["conditions"])
    assert not np.array_equal(a["conditions"], chunk(augmented, 10, seed=1)["conditions"])
    # Frames 13 and 14 are the last two of the chunk at 10 and the context of the chunk at 15:
    # the same augmented images in both (conditions hold the 2 context frames first).
    b = chunk(augmented, 15)
    assert np.array_equal(a["conditions"][5:7], b["conditions"][0:2])
    # NMFC and eye sketch get their own jitter; both differ from the plain frame.
    nmfc, eyes = a["conditions"][3, :3], a["conditions"][3, 3:]
    assert not np.array_equal(nmfc, chunk(plain, 10)["conditions"][3, :3])
    assert not np.array_equal(eyes, chunk(plain, 10)["conditions"][3, 3:])


def test_eye_noise_redraws_the_sketch_from_the_landmarks():
    clip = synthetic_clip(12, 64)
    eyes_only = WindowDataset([clip], AT_64, Augmentation(0, 0, 0.02, 2.0))
    frames = eyes_only.augmented_frames(ChunkKey(0, 0, 0, 5, False), np.arange(3, 10))
    assert np.array_equal(frames[..., :3], clip.nmfc[3:10])  # the NMFC untouched
    sketches = frames[..., 3:]
    assert not np.array_equal(sketches, clip.eyes[3:10])
    # Still an eye sketch: white outlines and red pupils where the clip's sketch has them,
    # moved by a pixel or two.
    assert set(map(tuple, sketches.reshape(-1, 3))) <= {(0, 0, 0), (255, 255, 255), (255, 0, 0)}
    drawn, original = sketches.any(-1), clip.eyes[3:10].any(-1)
    overlap = (drawn & original).sum() / original.sum()
    assert 0.2 < overlap < 1.0
    assert NO_AUGMENTATION.jitters is NO_AUGMENTATION.eye_noise is False
