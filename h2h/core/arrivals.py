"""Frames as they arrive from a live source, for a consumer that may be slower than the source.

A thread (:func:`receive`) reads the source as fast as it delivers and stamps each frame with
its arrival time, so that a frame's latency counts from the moment it arrived, including any
time it then waited. What happens when the consumer falls behind is the inbox's policy:

- :class:`Newest` (live): the consumer always gets the newest frame; a frame that was not taken
  before the next one arrived is dropped and counted. The output stays current and the wait
  before processing is at most one frame interval, at the price of a lower frame rate.
- :class:`Backlog` (``--no-drop``, e.g. a file piped in): every frame is kept; when ``size``
  frames wait, the reader stops reading, so a fast source is slowed down to the consumer's
  pace (through the pipe) instead of filling memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Arrival:
    """One frame of a live source and when it arrived (``time.perf_counter()``)."""

    index: int  # position in the source (dropped frames included)
    frame: np.ndarray
    arrived: float


class _Inbox:
    """A thread-safe inbox of arrivals that ends when the source ends."""

    def __init__(self, size: int) -> None:
        self._items: deque[Arrival] = deque()
        self._size = size
        self._closed = False
        self._changed = threading.Condition()
        self.received = 0
        self.dropped = 0

    def put(self, arrival: Arrival) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """No more frames will come (or none are wanted any more): the consumer gets those
        that wait, then the end, and the reader stops."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def __iter__(self) -> Iterator[Arrival]:
        while True:
            with self._changed:
                while not self._items and not self._closed:
                    self._changed.wait()
                if not self._items:
                    return
                arrival = self._items.popleft()
                self._changed.notify_all()
            yield arrival


class Newest(_Inbox):
    """Holds only the newest frame: an untaken frame is dropped when a newer one arrives."""

    def __init__(self) -> None:
        super().__init__(1)

    def put(self, arrival: Arrival) -> None:
        with self._changed:
            self.received += 1
            if self._items:
                self._items.popleft()
                self.dropped += 1
            self._items.append(arrival)
            self._changed.notify_all()


class Backlog(_Inbox):
    """Keeps every frame; the reader waits while ``size`` frames wait."""

    def __init__(self, size: int = 8) -> None:
        super().__init__(size)

    def put(self, arrival: Arrival) -> None:
        with self._changed:
            while len(self._items) >= self._size and not self._closed:
                self._changed.wait()
            self.received += 1
            self._items.append(arrival)
            self._changed.notify_all()


def receive(frames: Iterable[np.ndarray], inbox: _Inbox) -> threading.Thread:
    """Start a thread that reads ``frames`` into ``inbox`` (stamping arrivals) and closes it
    when the source ends or fails (the failure is kept in the thread's ``error``)."""

    def read() -> None:
        try:
            for index, frame in enumerate(frames):
                if inbox.closed:
                    return
                inbox.put(Arrival(index, frame, time.perf_counter()))
        except BaseException as error:  # noqa: BLE001 (reported by the consumer)
            thread.error = error  # type: ignore[attr-defined]
        finally:
            inbox.close()

    thread: Any = threading.Thread(target=read, name="live-input", daemon=True)
    thread.error = None
    thread.start()
    return thread


def at_rate(frames: Iterable[np.ndarray], fps: float) -> Iterator[np.ndarray]:
    """``frames`` delivered as a live source of ``fps`` frames per second delivers them (as
    ``ffmpeg -re`` does): frame i not before i / fps seconds after the first."""
    started = time.perf_counter()
    for index, frame in enumerate(frames):
        delay = started + index / fps - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield frame
