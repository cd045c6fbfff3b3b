"""Overlapping the steps of a frame-by-frame chain across cores.

Reenactment and the 3D recovery run each frame through a chain of steps in different libraries
(decoding, detection, Face Mesh, the fit, rendering, the generator, encoding). Run one after the
other, a frame uses one core at a time. :func:`overlapped` gives each step a thread of its own,
linked to the next by a bounded queue, so that while step 2 works on frame t, step 1 already
works on frame t+1: the chain runs at the speed of its slowest step instead of the sum of all.
Most of each step's time is spent in native code that releases Python's global lock (ffmpeg
pipes, OpenCV, MediaPipe's graph, the GL driver, torch), which is what lets threads overlap.

The guarantees the callers rely on:

- order: each step has one worker and the queues are FIFO, so results come out in the order
  of the input, each made by exactly the same calls as in a serial loop (``workers=False`` runs
  that loop, for comparisons and for debugging);
- no look-ahead: a step sees frame t only after it has finished frame t-1, and nothing reads
  ahead of the input beyond the queues' ``depth`` frames;
- failure: an exception in the source or in a step stops the whole chain and is raised, with
  its traceback, from the consumer's loop; no result after the failed frame is delivered;
- stopping: when the consumer stops early (``break``, an exception, Ctrl-C in the main thread)
  every worker stops and is joined before the generator returns, and the source is closed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

#: Seconds a blocked worker waits before looking at the stop flag again.
_POLL_S = 0.05


class _End:
    """The end of the input, passed down the chain."""


class _Failure:
    """An exception raised upstream, passed down the chain to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = _End()


class _Chain:
    """The queues, the stop flag and the threads of one :func:`overlapped` run."""

    def __init__(self, n_queues: int, depth: int) -> None:
        self.stop = threading.Event()
        self.queues: list[queue.Queue[Any]] = [queue.Queue(depth) for _ in range(n_queues)]
        self.threads: list[threading.Thread] = []

    def put(self, index: int, item: Any) -> bool:
        """Put ``item`` on queue ``index``; False when the chain was stopped meanwhile."""
        while not self.stop.is_set():
            try:
                self.queues[index].put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def get(self, index: int) -> Any:
        """The next item of queue ``index`` (the end marker once the chain is stopped)."""
        while True:
            try:
                return self.queues[index].get(timeout=_POLL_S)
            except queue.Empty:
                if self.stop.is_set():
                    return _END

    def start(self, target: Callable[..., None], *args: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def feed(self, source: Iterable[Any]) -> None:
        items = iter(source)
        try:
            for item in items:
                if not self.put(0, item):
                    return
            self.put(0, _END)
        except BaseException as error:  # noqa: BLE001 (handed to the consumer)
            self.put(0, _Failure(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def work(self, step: Callable[[Any], Any], index: int) -> None:
        while True:
            item = self.get(index)
            if isinstance(item, (_End, _Failure)):
                self.put(index + 1, item)
                return
            try:
                result = step(item)
            except BaseException as error:  # noqa: BLE001 (handed to the consumer)
                self.put(index + 1, _Failure(error))
                return
            if not self.put(index + 1, result):
                return

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def overlapped(source: Iterable[Any], steps: list[Callable[[Any], Any]], depth: int = 2,
               workers: bool = True) -> Iterator[Any]:
    """``steps[-1](... steps[1](steps[0](item)))`` for every item of ``source``, in order, with
    the source and each step in a thread of its own (see the module docstring).

    ``depth``: how many finished items may wait between two neighbouring steps (more smooths
    out uneven steps, at the price of memory and latency). ``workers=False``: the same calls in
    one plain loop in the caller's thread.
    """
    if not workers:
        yield from _serial(source, steps)
        return
    chain = _Chain(len(steps) + 1, depth)
    chain.start(chain.feed, source, name="overlap-source")
    for index, step in enumerate(steps):
        chain.start(chain.work, step, index, name=f"overlap-step-{index}")
    try:
        while True:
            item = chain.get(len(steps))
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        chain.close()


def _serial(source: Iterable[Any], steps: list[Callable[[Any], Any]]) -> Iterator[Any]:
    items = iter(source)
    try:
        for item in items:
            for step in steps:
                item = step(item)
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


T = TypeVar("T")
_DONE: Any = object()  # the end of an iterator in StepTimes.timed

class StepTimes:
    """Wall time each named step was busy, summed over frames. Safe to use from the workers of
    :func:`overlapped` (each adds to its own steps), where the steps' sum exceeds the run's wall
    time by what the overlap saved."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] += time.perf_counter() - started

    def timed(self, items: Iterable[T], step: str) -> Iterator[T]:
        """``items``, with the time spent producing each (e.g. decoding) added to ``step``."""
        iterator = iter(items)
        while True:
            with self(step):
                item = next(iterator, _DONE)
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
