"""Starting the first of two overlapped steps just in time for the second.

Two steps overlapped on two cores (:func:`h2h.core.overlap.overlapped`) run at the pace of the
slower one. When the second is the slower (a live reenactment's generator), a first step that
starts as soon as it is free finishes early and its result waits for the second: a frame then
spends up to twice the second step's time in the chain. :class:`JustInTime` delays the first
step's start (before it takes its input, so a live source's newest frame is the one taken) until
it is expected to finish when the second becomes free: a frame then spends about the sum of the
two steps, at the same frame rate. The expectations are moving averages of measured times; and
whatever they say, the first step does not start while its last result still waits for the
second (at the start, before anything is measured, or when the second step slows down).
"""

from __future__ import annotations

import threading
import time


class JustInTime:
    """Shared by the two steps' threads: the first calls :meth:`wait` before taking an input
    and :meth:`first_done` after; the second calls :meth:`second_started` and
    :meth:`second_done` around its work."""

    def __init__(self, smoothing: float = 0.2) -> None:
        self.smoothing = smoothing
        self.first: float | None = None  # moving averages of the steps' times, s
        self.second: float | None = None
        self._second_free_at = 0.0
        self._waiting = 0  # results of the first step the second has not taken yet
        self._lock = threading.Condition()

    def _average(self, mean: float | None, seconds: float) -> float:
        return seconds if mean is None else mean + self.smoothing * (seconds - mean)

    def delay(self) -> float:
        """Seconds the first step should wait now before starting (0 when it should start)."""
        with self._lock:
            start_at = self._second_free_at - (self.first or 0.0)
        return max(0.0, start_at - time.perf_counter())

    def wait(self, timeout: float = 5.0) -> None:
        """Sleep until the first step should start: until the second has taken the first's
        last result (at most ``timeout`` s, so a stopped second step does not block it), then
        for :meth:`delay`."""
        with self._lock:
            self._lock.wait_for(lambda: self._waiting == 0, timeout)
        delay = self.delay()
        if delay > 0:
            time.sleep(delay)

    def first_done(self, seconds: float) -> None:
        with self._lock:
            self.first = self._average(self.first, seconds)
            self._waiting += 1

    def second_started(self) -> None:
        with self._lock:
            self._second_free_at = time.perf_counter() + (self.second or 0.0)
            self._waiting = max(0, self._waiting - 1)
            self._lock.notify_all()

    def second_done(self, seconds: float) -> None:
        with self._lock:
            self.second = self._average(self.second, seconds)
            self._second_free_at = time.perf_counter()
