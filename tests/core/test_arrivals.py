"""Live arrivals: the newest frame is taken and the others counted as dropped, a backlog keeps
every frame and holds the reader back, a source delivers at its frame rate."""

import threading
import time

import numpy as np

from h2h.core.arrivals import Arrival, Backlog, Newest, at_rate, receive


def frame(value: int) -> np.ndarray:
    return np.full((2, 2, 3), value, np.uint8)


def test_the_newest_frame_is_taken_and_older_ones_are_dropped():
    inbox = Newest()
    for index in range(5):
        inbox.put(Arrival(index, frame(index), time.perf_counter()))
    inbox.close()
    taken = [arrival.index for arrival in inbox]
    assert taken == [4] and (inbox.received, inbox.dropped) == (5, 4)


def test_a_backlog_keeps_every_frame_and_holds_the_reader_back():
    inbox = Backlog(size=2)
    reader = receive((frame(i) for i in range(6)), inbox)
    deadline = time.monotonic() + 10
    while inbox.received < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert inbox.received == 2  # the reader waits while two frames wait
    assert [arrival.index for arrival in inbox] == list(range(6))
    reader.join(timeout=5)
    assert not reader.is_alive() and reader.error is None and inbox.dropped == 0


def test_arrivals_are_stamped_when_they_arrive_and_a_reader_failure_is_kept():
    def source():
        yield frame(0)
        time.sleep(0.1)
        yield frame(1)
        raise OSError("camera unplugged")

    inbox = Newest()
    started = time.perf_counter()
    reader = receive(source(), inbox)
    arrivals = list(inbox)
    reader.join(timeout=5)
    assert [a.index for a in arrivals] == [0, 1]
    assert arrivals[1].arrived - arrivals[0].arrived >= 0.1 and arrivals[0].arrived >= started
    assert isinstance(reader.error, OSError)


def test_a_consumer_that_stops_stops_the_reader():
    stop_seen = threading.Event()

    def endless():
        index = 0
        while True:
            yield frame(index % 256)
            index += 1
            if index > 10_000:
                stop_seen.set()  # never reached when the reader stops

    inbox = Backlog(size=1)
    reader = receive(endless(), inbox)
    next(iter(inbox))
    inbox.close()
    reader.join(timeout=5)
    assert not reader.is_alive() and not stop_seen.is_set()


def test_at_rate_delivers_frames_at_their_times():
    started = time.perf_counter()
    stamps = [time.perf_counter() - started for _ in at_rate(iter([frame(0)] * 5), fps=20.0)]
    for index, stamp in enumerate(stamps):
        assert stamp >= index / 20.0  # never early
