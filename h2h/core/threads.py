"""Choosing a step's thread count by measuring it, run by run.

A CPU step with two threads is faster than with one on an idle 2-core machine and several times
slower when another process keeps the second core busy: measured on the 2-core machine, the
``cpu`` generator's forward pass took about 100 ms with 1 torch thread and 55 ms with 2 when
alone, and with the machine loaded by other jobs 0.23-0.40 s with 1 thread and 3.6 s with 2
(the threads wait for each other at every synchronisation). No fixed setting is right for both,
and which one holds changes during a run, so :class:`FasterThreads` measures: it starts with
one thread, which never collapses, tries the other counts now and then for a single call, and
switches when a count proves faster over a few calls. A trial that comes out slower ends at
once and the next one waits twice as long, so a loaded machine pays for one slow call now and
then; a count in use that slows down (the other core got busy) is put to the test at once.
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

    ``set_threads`` applies a count (e.g. ``torch.set_num_threads``). The count in use starts as
    the first of ``candidates``; after ``first_check`` calls (and then at growing intervals,
    at most ``max_interval`` calls) another candidate runs one call; if that call beats the
    median of the count in use it runs ``trials`` calls and, if their median is lower, becomes
    the count in use. The step's result must not depend on the thread count (torch's CPU
    inference gives identical results for 1 and 2 threads, which the tests check for the
    generator; training does not, which is why training keeps a fixed count).
    """

    def __init__(self, set_threads: Callable[[int], None],
                 candidates: Sequence[int] | None = None, trials: int = 3,
                 first_check: int = 30, max_interval: int = 240) -> None:
        self.set_threads = set_threads
        self.candidates = tuple(candidates or thread_candidates())
        self.trials = trials
        self.first_check = first_check
        self.max_interval = max_interval
        self.current = self.candidates[0]
        self._times = {count: deque(maxlen=trials) for count in self.candidates}
        self._calls = 0
        self._interval = first_check
        self._next_check = first_check
        self._rotation = 0
        self._trying: int | None = None
        self._reference: float | None = None  # the count in use's median when chosen

    @property
    def best(self) -> int:
        """The count in use."""
        return self.current

    def _median(self, count: int) -> float:
        times = self._times[count]
        return statistics.median(times) if times else float("inf")

    def _choose(self) -> int:
        if self._trying is None and len(self.candidates) > 1 and (
                self._calls >= self._next_check or self._slowed_down()):
            others = [c for c in self.candidates if c != self.current]
            self._trying = others[self._rotation % len(others)]
            self._rotation += 1
            self._times[self._trying].clear()
        return self.current if self._trying is None else self._trying

    def _slowed_down(self) -> bool:
        recent = self._times[self.current]
        return (self._reference is not None and len(recent) == recent.maxlen
                and self._median(self.current) > 1.5 * self._reference)

    def _judge(self) -> None:
        trying = self._trying
        assert trying is not None
        if self._median(trying) >= self._median(self.current):  # slower: back off
            self._interval = min(2 * self._interval, self.max_interval)
        elif len(self._times[trying]) < self.trials:
            return  # faster so far: more calls before switching
        else:
            self.current, self._interval = trying, self.first_check
            self._reference = self._median(trying)
        self._trying = None
        self._next_check = self._calls + self._interval
        if self._reference is None or self._slowed_down():
            self._reference = self._median(self.current)

    def __call__(self, step: Callable[[], T]) -> T:
        """``step()`` under the chosen thread count; its time is recorded for the choice."""
        self._calls += 1
        count = self._choose()
        self.set_threads(count)
        started = time.perf_counter()
        result = step()
        if self._calls > 1:  # the first call warms up (allocations, kernel selection)
            self._times[count].append(time.perf_counter() - started)
            if self._reference is None and len(self._times[count]) == self.trials:
                self._reference = self._median(count)
        if self._trying is not None:
            self._judge()
        return result
