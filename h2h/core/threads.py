"""Choosing a step's thread count by measuring it, run by run.

A CPU step with two threads is faster than with one on an idle 2-core machine and several times
slower when another process keeps the second core busy: measured on the 2-core machine, the
``cpu`` training profile ran at 0.45 iterations/s with 2 torch threads and 0.25 with 1 when
alone, and at 0.05-0.09 with 2 and 0.24 with 1 beside another job (its threads wait for each
other at every synchronisation). No fixed setting is right for both, and which one holds
changes during a run, so :class:`FasterThreads` measures: it runs a repeated step under each
candidate thread count in turn, keeps the one whose recent median time is lowest, and tries the
others again from time to time.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def thread_candidates(cores: int | None = None) -> tuple[int, ...]:
    """1, 2, 4, ... up to the machine's cores (and the core count itself)."""
    cores = max(1, cores or os.cpu_count() or 1)
    counts = {1, cores}
    count = 2
    while count < cores:
        counts.add(count)
        count *= 2
    return tuple(sorted(counts))


class FasterThreads:
    """Runs a repeated step under the thread count that is measured faster now.

    ``set_threads`` applies a count (e.g. ``torch.set_num_threads``). The first calls try each
    of ``candidates`` on ``trials`` calls in turn; afterwards the count with the lowest median
    of its last ``trials`` times is used, and every ``recheck`` calls each other candidate gets
    ``trials`` calls again, so a core that became busy (or free) is noticed. The step's result
    must not depend on the thread count (torch's CPU kernels give identical results for 1 and 2
    threads, which the tests check for the generator).
    """

    def __init__(self, set_threads: Callable[[int], None],
                 candidates: Sequence[int] | None = None, trials: int = 3,
                 recheck: int = 100) -> None:
        self.set_threads = set_threads
        self.candidates = tuple(candidates or thread_candidates())
        self.trials = trials
        self.recheck = recheck
        self._times = {count: deque(maxlen=trials) for count in self.candidates}
        self._calls = 0
        # The first call warms up (allocations, kernel selection) and is not measured.
        self._plan: list[int] = [self.candidates[0]] + [
            count for count in self.candidates for _ in range(trials)]

    @property
    def best(self) -> int:
        """The count with the lowest median recent time (untried counts count as slowest)."""
        return min(self.candidates,
                   key=lambda c: statistics.median(self._times[c]) if self._times[c]
                   else float("inf"))

    def __call__(self, step: Callable[[], T]) -> T:
        """``step()`` under the chosen thread count; its time is recorded for the choice."""
        if not self._plan and self._calls and self._calls % self.recheck == 0:
            best = self.best
            self._plan = [c for c in self.candidates if c != best for _ in range(self.trials)]
        count = self._plan.pop(0) if self._plan else self.best
        self._calls += 1
        self.set_threads(count)
        started = time.perf_counter()
        result = step()
        if self._calls > 1:
            self._times[count].append(time.perf_counter() - started)
        return result
