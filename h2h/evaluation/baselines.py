"""Trivial renderers of a target's test frames, the floor a trained generator has to beat.

Both use only the target's training split, as the generator does. The mean training frame is
what a network that ignores its conditioning converges to under an L2 loss; the nearest
neighbour (the training frame whose NMFC is closest to the test frame's) is what a network that
only memorised its training frames could do. A generator worth its training beats the first by
a clear margin in average pixel distance and should get close to or beat the second, whose
frames are real and sharp but belong to another moment (other mouth, blink, background).
"""

from __future__ import annotations

import numpy as np


def _check_frames(frames: np.ndarray, name: str) -> None:
    if frames.ndim != 4 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"{name} must be a non-empty uint8 video (N, H, W, C), "
                         f"got {frames.dtype} {frames.shape}")


def mean_frame(frames: np.ndarray) -> np.ndarray:
    """The per-pixel mean of a uint8 video (N, H, W, C), rounded to uint8 (H, W, C)."""
    _check_frames(frames, "frames")
    return np.round(frames.mean(axis=0, dtype=np.float64)).astype(np.uint8)


def mean_baseline(train: np.ndarray, count: int) -> np.ndarray:
    """``count`` frames that all show the mean training frame (a read-only view, no copy)."""
    return np.broadcast_to(mean_frame(train), (count, *train.shape[1:]))


def nearest_frames(queries: np.ndarray, keys: np.ndarray, chunk: int = 64) -> np.ndarray:
    """For every query image, the index of the key image at the smallest L2 distance.

    queries (M, H, W, C) and keys (N, H, W, C) uint8. Distances come from
    ``|q|^2 + |k|^2 - 2 q.k`` in float64: for uint8 images of up to 10^11 values every partial
    sum is an integer below 2^53, so the result is exact (ties go to the lowest index) while the
    products run in BLAS. Memory: the keys as float64 plus ``chunk`` queries.
    """
    _check_frames(queries, "queries")
    _check_frames(keys, "keys")
    if queries.shape[1:] != keys.shape[1:]:
        raise ValueError(f"queries {queries.shape[1:]} and keys {keys.shape[1:]} differ in size")
    flat_keys = keys.reshape(len(keys), -1).astype(np.float64)
    key_norms = np.einsum("ij,ij->i", flat_keys, flat_keys)
    found = np.empty(len(queries), np.int64)
    for start in range(0, len(queries), chunk):
        block = queries[start:start + chunk].reshape(-1, flat_keys.shape[1]).astype(np.float64)
        distances = (np.einsum("ij,ij->i", block, block)[:, None] + key_norms[None]
                     - 2 * block @ flat_keys.T)
        found[start:start + len(block)] = distances.argmin(axis=1)
    return found


def nearest_neighbour_baseline(train: np.ndarray, train_nmfc: np.ndarray,
                               test_nmfc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each test frame, the training frame whose NMFC is closest to the test frame's NMFC.

    train (N, H, W, 3) real frames and train_nmfc (N, H, W, 3) their NMFCs; test_nmfc
    (M, H, W, 3). Returns the (M, H, W, 3) frames and the (M,) training indices picked.
    """
    if len(train) != len(train_nmfc):
        raise ValueError(f"{len(train)} training frames but {len(train_nmfc)} NMFCs")
    picked = nearest_frames(test_nmfc, train_nmfc)
    return train[picked], picked
