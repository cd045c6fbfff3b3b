"""Fixtures of the training tests: one thread each, a small synthetic dataset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from h2h.train.data import WindowDataset
from h2h.train.synthetic import synthetic_clip
from tests.support.training import TINY


@pytest.fixture(autouse=True)
def single_thread(one_thread: None) -> Iterator[None]:
    """Every training test runs with one torch thread (see the ``one_thread`` fixture)."""
    yield


@pytest.fixture(scope="module")
def dataset() -> WindowDataset:
    """Windows of a 40-frame synthetic clip at TINY's resolution."""
    return WindowDataset([synthetic_clip(40, TINY.resolution)], TINY)
